//! Bar charts: grouped horizontal bars per category, and a histogram.

use crate::{COLORS, Error, Series, TARGET, Target, color, failed, legend, svg};
use plotters::prelude::*;

/// Horizontal bars, one group per category and one bar per series, with an optional target line;
/// the value axis runs from 0 to `max` (else a little past the largest value or target).
pub fn grouped_bars(
    title: &str,
    value_label: &str,
    categories: &[String],
    series: &[Series<'_, f64>],
    target: Option<Target<'_>>,
    max: Option<f64>,
) -> Result<String, Error> {
    let n = categories.len().max(1);
    let finite = || series.iter().flat_map(|s| s.values.iter().copied()).filter(|v| v.is_finite());
    let max = max.unwrap_or_else(|| finite().chain(target.map(|t| t.value)).fold(0.0, f64::max) * 1.1 + 1e-9);
    let height = (80 + 22 * n * series.len().max(1)).clamp(200, 1400) as u32;
    svg((560, height), |root| {
        let labels = categories.to_vec();
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(120)
            .build_cartesian_2d(0.0..max, 0.0..n as f64)
            .map_err(failed)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .y_labels(n * 2 + 1)
            .y_label_formatter(&move |y| {
                let i = (n as f64 - y - 0.5).round();
                let centered = (n as f64 - y - 0.5 - i).abs() < 1e-6;
                if centered && i >= 0.0 { labels.get(i as usize).cloned().unwrap_or_default() } else { String::new() }
            })
            .x_desc(value_label)
            .draw()
            .map_err(failed)?;
        let groups = series.len().max(1) as f64;
        for (s_index, s) in series.iter().enumerate() {
            let color = color(s_index);
            let bars = s.values.iter().enumerate().filter(|(_, v)| v.is_finite()).map(move |(i, &v)| {
                // Category i is drawn top-down; each series takes a slice of its row.
                let top = n as f64 - i as f64 - 0.1 - 0.8 * s_index as f64 / groups;
                let bottom = top - 0.8 / groups;
                Rectangle::new([(0.0, bottom), (v, top)], color.filled())
            });
            chart
                .draw_series(bars)
                .map_err(failed)?
                .label(s.label)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        }
        if let Some(t) = target {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(t.value, 0.0), (t.value, n as f64)],
                    TARGET.stroke_width(2),
                )))
                .map_err(failed)?
                .label(t.label)
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], TARGET.stroke_width(2)));
        }
        legend(&mut chart)
    })
}

/// A histogram of `values` between 0 and `max` in `bins` equal bins (values past either end count
/// in the first or last bin).
pub fn histogram(title: &str, value_label: &str, values: &[f64], max: f64, bins: usize) -> Result<String, Error> {
    let bins = bins.max(1);
    let width = max.max(1e-9) / bins as f64;
    let mut counts = vec![0u32; bins];
    for &v in values.iter().filter(|v| v.is_finite()) {
        counts[((v / width).floor().max(0.0) as usize).min(bins - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(0).max(1);
    svg((560, 300), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(40)
            .build_cartesian_2d(0.0..max.max(1e-9), 0u32..top + 1)
            .map_err(failed)?;
        chart.configure_mesh().disable_x_mesh().x_desc(value_label).y_desc("submissions").draw().map_err(failed)?;
        chart
            .draw_series(counts.iter().enumerate().map(|(i, &c)| {
                let from = i as f64 * width;
                Rectangle::new([(from + width * 0.05, 0), (from + width * 0.95, c)], COLORS[0].filled())
            }))
            .map_err(failed)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_bars_draw_one_bar_per_finite_value_and_a_swatch_per_series() {
        let layers = vec!["conv1".to_string(), "fc".to_string()];
        let svg = grouped_bars(
            "Variance",
            "variance",
            &layers,
            &[
                Series { label: "yours", values: vec![0.5, f64::NAN] },
                Series { label: "reference", values: vec![0.5, 1.0] },
            ],
            Some(Target { value: 1.0, label: "1.0" }),
            None,
        )
        .unwrap();
        assert!(svg.contains("conv1") && svg.contains("fc") && svg.contains("reference"), "{svg}");
        // Bars plus one legend swatch per series: two of the reference's, one of the student's (NaN
        // is left out).
        assert_eq!(svg.matches("#FF7F0E").count(), 3, "{svg}");
        assert_eq!(svg.matches("#1F77B4").count(), 2, "{svg}");
    }

    #[test]
    fn a_histogram_counts_values_past_its_ends_in_the_end_bins() {
        let svg = histogram("Scores", "points", &[-5.0, 0.0, 30.0, 65.0, 90.0, f64::NAN], 65.0, 13).unwrap();
        assert!(svg.contains("submissions") && svg.contains("Scores"), "{svg}");
        // One bar per bin: −5 and 0 in the first, 30 in the seventh, 65 and 90 in the last.
        let heights: Vec<u32> = svg
            .lines()
            .filter(|l| l.starts_with("<rect") && l.contains("fill=\"#1F77B4\""))
            .map(|l| l.split("height=\"").nth(1).and_then(|h| h.split('"').next()?.parse().ok()).unwrap())
            .collect();
        assert_eq!(heights.len(), 13, "{svg}");
        let two = heights[0];
        assert!(two > 0 && heights[12] == two && heights[6].abs_diff(two / 2) <= 1, "{heights:?}");
        assert_eq!(heights.iter().filter(|h| **h == 0).count(), 10, "{heights:?}");
    }
}
