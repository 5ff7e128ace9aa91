//! The notebook's pictures as SVG (plotters' SVG backend: no fonts or system libraries needed):
//! training curves with the 75% target, per-layer output variances on a log scale (He against a
//! naive initialization), and the 1-D loss landscape. Each function returns the SVG text; [`write_svg`] saves it.

use crate::Error;
use crate::he_init::LayerVariance;
use crate::train::EpochStats;
use plotters::prelude::*;
use std::path::Path;

type Series<'a, T> = (&'a str, &'a [T]);

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

fn plot_error(e: impl std::fmt::Display) -> Error {
    Error::Plot(e.to_string())
}

/// Loss (left) and validation accuracy (right) per epoch for each named history, with a dashed
/// line at `target_accuracy` percent.
pub fn training_curves(histories: &[Series<'_, EpochStats>], target_accuracy: f64) -> Result<String, Error> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let (left, right) = root.split_horizontally(480);
        let epochs = histories.iter().map(|(_, h)| h.len()).max().unwrap_or(1).max(1) as f64;
        let max_loss = histories
            .iter()
            .flat_map(|(_, h)| h.iter().map(|s| s.train_loss))
            .filter(|l| l.is_finite())
            .fold(0.1, f64::max);
        let mut loss = ChartBuilder::on(&left)
            .caption("training loss", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(48)
            .build_cartesian_2d(1.0..epochs.max(2.0), 0.0..max_loss * 1.1)
            .map_err(plot_error)?;
        loss.configure_mesh().x_desc("epoch").draw().map_err(plot_error)?;
        let mut accuracy = ChartBuilder::on(&right)
            .caption("validation accuracy (%)", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(48)
            .build_cartesian_2d(1.0..epochs.max(2.0), 0.0..100.0)
            .map_err(plot_error)?;
        accuracy.configure_mesh().x_desc("epoch").draw().map_err(plot_error)?;
        accuracy
            .draw_series(DashedLineSeries::new(
                [(1.0, target_accuracy), (epochs.max(2.0), target_accuracy)],
                6,
                4,
                BLACK.stroke_width(1),
            ))
            .map_err(plot_error)?
            .label(format!("target {target_accuracy}%"))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK));
        for (i, (name, history)) in histories.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let points = |f: fn(&EpochStats) -> f64| {
                history.iter().map(move |s| (s.epoch as f64, f(s))).filter(|(_, v)| v.is_finite())
            };
            loss.draw_series(LineSeries::new(points(|s| s.train_loss), color.stroke_width(2))).map_err(plot_error)?;
            accuracy
                .draw_series(LineSeries::new(points(|s| s.validation_accuracy), color.stroke_width(2)).point_size(3))
                .map_err(plot_error)?
                .label(name.to_string())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2)));
        }
        accuracy
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .border_style(BLACK)
            .background_style(WHITE)
            .draw()
            .map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// Output variance per layer (in forward order) on a log scale, one line per named series: He's
/// initialization holds it of the same order with depth, a naive one makes it collapse, which only
/// a log scale shows side by side.
pub fn variance_per_layer(series: &[Series<'_, LayerVariance>]) -> Result<String, Error> {
    let mut svg = String::new();
    {
        let layers = series.iter().map(|(_, v)| v.len()).max().unwrap_or(0).max(1);
        let positive =
            || series.iter().flat_map(|(_, v)| v.iter().map(|l| l.variance)).filter(|v| v.is_finite() && *v > 0.0);
        let low = positive().fold(1.0, f64::min) / 2.0;
        let high = positive().fold(1.0, f64::max) * 2.0;
        let width = (120 + layers * 40).clamp(640, 1600) as u32;
        let root = SVGBackend::with_string(&mut svg, (width, 400)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("output variance per layer (log scale)", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(72)
            .build_cartesian_2d(0.5..layers as f64 + 0.5, (low..high).log_scale())
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("layer (forward order)")
            .y_desc("variance")
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()
            .map_err(plot_error)?;
        for (s, (name, variances)) in series.iter().enumerate() {
            let color = COLORS[s % COLORS.len()];
            let points: Vec<(f64, f64)> = variances
                .iter()
                .enumerate()
                .filter(|(_, l)| l.variance.is_finite() && l.variance > 0.0)
                .map(|(i, l)| (i as f64 + 1.0, l.variance))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(plot_error)?
                .label(name.to_string())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
            chart.draw_series(points.into_iter().map(|p| Circle::new(p, 3, color.filled()))).map_err(plot_error)?;
        }
        chart.configure_series_labels().border_style(BLACK).background_style(WHITE).draw().map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// Loss against α for each named slice (see [`crate::landscape::loss_slice`]).
pub fn loss_landscape(slices: &[Series<'_, (f64, f64)>]) -> Result<String, Error> {
    let mut svg = String::new();
    {
        let all = || slices.iter().flat_map(|(_, s)| s.iter().copied()).filter(|(_, l)| l.is_finite());
        let (x0, x1) = all().fold((f64::MAX, f64::MIN), |(lo, hi), (a, _)| (lo.min(a), hi.max(a)));
        // A log scale: far from the minimum the loss grows by orders of magnitude, and the shape
        // near the minimum (sharp or flat) is what the picture is about.
        let top = all().map(|(_, l)| l).fold(0.1, f64::max);
        let bottom = all().map(|(_, l)| l).filter(|l| *l > 0.0).fold(top, f64::min).max(1e-4);
        let (x0, x1) = if x0 < x1 { (x0, x1) } else { (-1.0, 1.0) };
        let root = SVGBackend::with_string(&mut svg, (640, 400)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("loss along a random direction", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(48)
            .build_cartesian_2d(x0..x1, (bottom * 0.8..top * 1.25).log_scale())
            .map_err(plot_error)?;
        chart.configure_mesh().x_desc("alpha").y_desc("loss (log scale)").draw().map_err(plot_error)?;
        for (i, (name, slice)) in slices.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(
                    slice.iter().copied().filter(|(_, l)| l.is_finite() && *l > 0.0),
                    color.stroke_width(2),
                ))
                .map_err(plot_error)?
                .label(name.to_string())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2)));
        }
        chart.configure_series_labels().border_style(BLACK).background_style(WHITE).draw().map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
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
        let v = [LayerVariance { name: "conv1".into(), kind: LayerKind::Conv2d, variance: 0.9 }];
        let svg = variance_per_layer(&[("yours", &v), ("reference", &v)]).unwrap();
        assert!(svg.contains("reference") && svg.matches("<rect").count() >= 3);
        let svg = loss_landscape(&[("ResNet", &[(-1.0, 3.0), (0.0, 0.5), (1.0, f64::NAN)])]).unwrap();
        assert!(svg.contains("ResNet") && svg.contains("<polyline"));
    }
}
