//! The assignment's pictures as SVG text, drawn with plotters' SVG backend (no fonts or system
//! libraries needed). One module for everyone who draws: the solution's (and so the student
//! crate's) training curves, variance and loss-landscape plots, and the grader's report and
//! dashboard pages. It knows numbers and labels only, not the assignment's types, so the same
//! chart looks the same in `make demo` and on the report page.
//!
//! - [`lines`] and [`lines_in_a_row`]: lines through `(x, y)` points, with an optional dashed
//!   target line (training curves, per-layer variances, loss slices);
//! - [`grouped_bars`]: horizontal bars, one group per category (the ablation's accuracies);
//! - [`histogram`]: counts of values in equal bins (the class's scores).

mod bars;
mod lines;

pub use bars::{grouped_bars, histogram};
pub use lines::{LineChart, lines, lines_in_a_row};

use plotters::prelude::*;

/// Colors of successive series: matplotlib's first six, as in the notebook.
pub const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// The color of target lines.
const TARGET: RGBColor = RGBColor(200, 30, 30);

/// The color of the `index`-th series (the table repeats past its end).
fn color(index: usize) -> RGBColor {
    COLORS[index % COLORS.len()]
}

/// One named series of values.
#[derive(Debug, Clone, PartialEq)]
pub struct Series<'a, T> {
    /// Shown in the legend.
    pub label: &'a str,
    /// The values.
    pub values: Vec<T>,
}

/// A reference line with its label (a target accuracy, a target variance).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target<'a> {
    /// Where it is drawn.
    pub value: f64,
    /// Its legend entry.
    pub label: &'a str,
}

/// Why a chart could not be drawn (plotters' own error, in words).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot draw the chart: {0}")]
pub struct Error(String);

fn failed(e: impl std::fmt::Display) -> Error {
    Error(e.to_string())
}

type Canvas<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// Runs `draw` on a white SVG canvas of `size` pixels and returns the SVG text.
fn svg(size: (u32, u32), draw: impl FnOnce(&Canvas<'_>) -> Result<(), Error>) -> Result<String, Error> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        draw(&root)?;
        root.present().map_err(failed)?;
    }
    Ok(text)
}

/// The legend of `chart`, lower right, on a translucent background.
fn legend<'a, CT: CoordTranslate>(chart: &mut ChartContext<'a, SVGBackend<'a>, CT>) -> Result<(), Error> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(failed)
}

/// The texts of an SVG's `<text>` elements (for tests: plotters writes each on the line after its tag).
#[cfg(test)]
fn texts(svg: &str) -> impl Iterator<Item = &str> {
    let mut lines = svg.lines();
    std::iter::from_fn(move || {
        lines.by_ref().find(|l| l.starts_with("<text"))?;
        lines.next().map(str::trim)
    })
}
