//! The notebook's pictures as SVG: training curves with the 75% target, per-layer output variances
//! on a log scale (He against a naive initialization), and the 1-D loss landscape. Each function
//! returns the SVG text; [`write_svg`] saves it. They are drawn by `resnet_lab_plots`, the module
//! the grader's report page draws with too, so your `make demo` pictures look like the page's.

use crate::Error;
use crate::he_init::LayerVariance;
use crate::train::EpochStats;
use resnet_lab_plots::{LineChart, Series, Target, lines, lines_in_a_row};
use std::path::Path;

/// `(x, y)` points of `items`, the i-th at x = i + 1, on a log₁₀ scale; values that are not
/// positive have no logarithm and are left out.
fn log10_by_position<T>(items: &[T], value: impl Fn(&T) -> f64) -> Vec<(f64, f64)> {
    let points = items.iter().enumerate().map(|(i, item)| (i as f64 + 1.0, value(item)));
    points.filter(|(_, v)| *v > 0.0).map(|(x, v)| (x, v.log10())).collect()
}

/// Training loss (left) and validation accuracy (right) per epoch for each named history, with a
/// dashed line at `target_accuracy` percent.
pub fn training_curves(histories: &[(&str, &[EpochStats])], target_accuracy: f64) -> Result<String, Error> {
    let per_epoch = |field: fn(&EpochStats) -> f64| -> Vec<Series<'_, (f64, f64)>> {
        let points = |history: &[EpochStats]| history.iter().map(|s| (s.epoch as f64, field(s))).collect();
        histories.iter().map(|&(label, history)| Series { label, values: points(history) }).collect()
    };
    let (loss, accuracy) = (per_epoch(|s| s.train_loss), per_epoch(|s| s.validation_accuracy));
    let label = format!("target {target_accuracy}%");
    let target = Target { value: target_accuracy, label: &label };
    Ok(lines_in_a_row(&[
        LineChart::new("training loss", ("epoch", "loss"), &loss),
        LineChart::new("validation accuracy (%)", ("epoch", "%"), &accuracy).with_target(target).with_y_max(100.0),
    ])?)
}

/// Output variance per layer (in forward order) on a log scale, one line per named series: He's
/// initialization holds it of the same order with depth, a naive one makes it collapse, which only
/// a log scale shows side by side.
pub fn variance_per_layer(series: &[(&str, &[LayerVariance])]) -> Result<String, Error> {
    let series: Vec<Series<'_, (f64, f64)>> = series
        .iter()
        .map(|&(label, layers)| Series { label, values: log10_by_position(layers, |l| l.variance) })
        .collect();
    let axes = ("layer, in forward order", "log₁₀ variance");
    Ok(lines(&LineChart::new("output variance per layer (log₁₀)", axes, &series))?)
}

/// Loss against α for each named slice (see [`crate::landscape::loss_slice`]), on a log scale: far
/// from the minimum the loss grows by orders of magnitude, and the shape near the minimum (sharp
/// or flat) is what the picture is about.
pub fn loss_landscape(slices: &[(&str, &[(f64, f64)])]) -> Result<String, Error> {
    let series: Vec<Series<'_, (f64, f64)>> = slices
        .iter()
        .map(|&(label, slice)| {
            let positive = slice.iter().filter(|(_, loss)| *loss > 0.0);
            Series { label, values: positive.map(|&(alpha, loss)| (alpha, loss.log10())).collect() }
        })
        .collect();
    let axes = ("alpha", "log₁₀ loss");
    Ok(lines(&LineChart::new("loss along a random direction", axes, &series))?)
}

/// Writes SVG text to `path`.
pub fn write_svg(path: &Path, svg: &str) -> Result<(), Error> {
    std::fs::write(path, svg).map_err(|source| Error::Io { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::LayerKind;

    #[test]
    fn plots_are_svg_with_their_labels() {
        let history: Vec<EpochStats> = (1..=3)
            .map(|e| EpochStats {
                epoch: e,
                train_loss: 2.0 / e as f64,
                train_accuracy: 50.0,
                validation_accuracy: 30.0 * e as f64,
                learning_rate: 0.1,
                seconds: 1.0,
            })
            .collect();
        let svg = training_curves(&[("resnet18", &history)], 75.0).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("resnet18") && svg.contains("target 75%"));
        assert_eq!(svg.matches("<circle").count(), 6, "three epochs, loss and accuracy: {svg}");
        let v = [
            LayerVariance { name: "conv1".into(), kind: LayerKind::Conv2d, variance: 0.9 },
            LayerVariance { name: "conv2".into(), kind: LayerKind::Conv2d, variance: 0.0 },
        ];
        let svg = variance_per_layer(&[("yours", &v), ("reference", &v)]).unwrap();
        assert!(svg.contains("reference") && svg.contains("log₁₀ variance"));
        assert_eq!(svg.matches("<circle").count(), 2, "a variance of 0 has no logarithm: {svg}");
        let svg = loss_landscape(&[("ResNet", &[(-1.0, 3.0), (0.0, 0.5), (1.0, f64::NAN)])]).unwrap();
        assert!(svg.contains("ResNet") && svg.contains("<polyline"));
        assert_eq!(svg.matches("<circle").count(), 2, "NaN is left out: {svg}");
    }
}
