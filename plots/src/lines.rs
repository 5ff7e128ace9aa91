//! Line charts: `(x, y)` points per series, dots on the points, an optional dashed target line.

use crate::{Canvas, Error, Series, TARGET, Target, color, failed, legend, svg};
use plotters::prelude::*;

/// The size of one line chart, in pixels.
const SIZE: (u32, u32) = (560, 320);

/// What one line chart shows: [`LineChart::new`], then optionally a target line and the y axis's top.
#[derive(Debug, Clone, Copy)]
pub struct LineChart<'a> {
    /// The caption above the chart.
    title: &'a str,
    /// The x and y axes' descriptions.
    axes: (&'a str, &'a str),
    /// The lines; points that are not finite are left out.
    series: &'a [Series<'a, (f64, f64)>],
    /// A dashed horizontal line across the chart, with its legend entry.
    target: Option<Target<'a>>,
    /// The top of the y axis (else a little above the highest point or target).
    y_max: Option<f64>,
}

impl<'a> LineChart<'a> {
    /// A chart of `series` titled `title`, with `(x, y)` axis descriptions; no target line, and a
    /// y axis from zero (or the lowest point, when below zero) to a little above the highest point.
    pub fn new(title: &'a str, axes: (&'a str, &'a str), series: &'a [Series<'a, (f64, f64)>]) -> Self {
        LineChart { title, axes, series, target: None, y_max: None }
    }

    /// The same chart with a dashed horizontal target line (and its legend entry).
    pub fn with_target(self, target: Target<'a>) -> Self {
        LineChart { target: Some(target), ..self }
    }

    /// The same chart with its y axis's top at `y_max` (100 for percentages).
    pub fn with_y_max(self, y_max: f64) -> Self {
        LineChart { y_max: Some(y_max), ..self }
    }
}

/// One line chart, 560 × 320 pixels.
pub fn lines(chart: &LineChart<'_>) -> Result<String, Error> {
    svg(SIZE, |root| draw(root, chart))
}

/// Line charts side by side in one picture (training loss beside accuracy).
pub fn lines_in_a_row(charts: &[LineChart<'_>]) -> Result<String, Error> {
    let count = charts.len().max(1);
    svg((SIZE.0 * count as u32, SIZE.1), |root| {
        root.split_evenly((1, count)).iter().zip(charts).try_for_each(|(area, chart)| draw(area, chart))
    })
}

fn draw(root: &Canvas<'_>, spec: &LineChart<'_>) -> Result<(), Error> {
    let LineChart { title, axes: (x_label, y_label), series, target, y_max } = *spec;
    let finite = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite();
    let points = || series.iter().flat_map(|s| s.values.iter().copied()).filter(finite);
    let x_min = points().map(|(x, _)| x).fold(f64::INFINITY, f64::min).min(1.0);
    let x_max = points().map(|(x, _)| x).fold(x_min + 1.0, f64::max);
    let y_max = y_max
        .unwrap_or_else(|| points().map(|(_, y)| y).chain(target.map(|t| t.value)).fold(0.0, f64::max) * 1.08 + 1e-9);
    // Values below zero (logarithms) extend the axis down; otherwise it starts at zero.
    let y_min = points().map(|(_, y)| y).fold(0.0, f64::min) * 1.08;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(x_min..x_max, y_min..y_max)
        .map_err(failed)?;
    let whole = |x: &f64| if x.fract() == 0.0 { format!("{x:.0}") } else { String::new() };
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .x_label_formatter(&whole)
        .light_line_style(WHITE)
        .draw()
        .map_err(failed)?;
    for (i, s) in series.iter().enumerate() {
        let color = color(i);
        let values: Vec<(f64, f64)> = s.values.iter().copied().filter(finite).collect();
        chart
            .draw_series(LineSeries::new(values.clone(), color.stroke_width(2)))
            .map_err(failed)?
            .label(s.label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
        chart.draw_series(values.into_iter().map(|p| Circle::new(p, 3, color.filled()))).map_err(failed)?;
    }
    if let Some(t) = target {
        let dashes = (0..40).map(|i| {
            let span = x_max - x_min;
            let (from, to) = (x_min + span * i as f64 / 40.0, x_min + span * (i as f64 + 0.5) / 40.0);
            PathElement::new(vec![(from, t.value), (to, t.value)], TARGET.stroke_width(1))
        });
        chart
            .draw_series(dashes)
            .map_err(failed)?
            .label(t.label)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], TARGET.stroke_width(1)));
    }
    legend(&mut chart)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(label: &str) -> Series<'_, (f64, f64)> {
        Series { label, values: vec![(1.0, 40.0), (2.0, 70.0), (3.0, f64::NAN), (4.0, 81.0)] }
    }

    #[test]
    fn a_line_chart_has_its_title_labels_target_and_one_dot_per_finite_point() {
        let series = [curve("validation")];
        let target = Target { value: 75.0, label: "target 75%" };
        let svg = lines(&LineChart::new("Training", ("epoch", "%"), &series).with_target(target).with_y_max(100.0));
        let svg = svg.unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("width=\"560\""), "{svg}");
        for text in ["Training", "epoch", "validation", "target 75%"] {
            assert!(svg.contains(text), "{text} missing: {svg}");
        }
        assert_eq!(svg.matches("<circle").count(), 3, "NaN is left out: {svg}");
    }

    #[test]
    fn charts_in_a_row_share_one_picture_as_wide_as_both() {
        let (loss, accuracy) = ([curve("loss")], [curve("accuracy")]);
        let charts = [LineChart::new("left", ("epoch", ""), &loss), LineChart::new("right", ("epoch", ""), &accuracy)];
        let svg = lines_in_a_row(&charts).unwrap();
        assert!(svg.contains("width=\"1120\"") && svg.contains("left") && svg.contains("right"), "{svg}");
        assert_eq!(svg.matches("<circle").count(), 6, "{svg}");
    }

    #[test]
    fn logarithms_below_zero_extend_the_axis_down() {
        let series = [Series { label: "variance", values: vec![(1.0, -3.0), (2.0, -1.0)] }];
        let svg = lines(&LineChart::new("t", ("x", "y"), &series)).unwrap();
        assert!(crate::texts(&svg).any(|t| t == "-3.0"), "the y axis reaches -3: {svg}");
    }
}
