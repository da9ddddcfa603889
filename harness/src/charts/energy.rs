//! Energy per output token or per image, as grouped bars (one group per case, one bar per
//! target or measure). A thin wrapper over the grouped bar renderer of `throughput`.
//!
//! How to read it: lower is better; bars of one colour are one target across cases, and a
//! whisker is the interval of the value. The axis turns logarithmic (its title says so) when
//! values span more than a factor of ~30.

use super::throughput::{BarChart, BarSeries};
use super::{ChartError, ChartSize};

/// What the energy is divided by, which fixes the y axis title and unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EnergyPer {
    /// Joules per generated token: "energy per output token (J/token)".
    #[default]
    OutputToken,
    /// Joules per generated image: "energy per image (J)".
    Image,
}

impl EnergyPer {
    /// The y axis title, with its unit.
    pub fn y_label(self) -> &'static str {
        match self {
            EnergyPer::OutputToken => "energy per output token (J/token)",
            EnergyPer::Image => "energy per image (J)",
        }
    }
}

/// Input of the energy chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EnergyChart {
    /// Chart title.
    pub title: String,
    /// Per token or per image.
    pub per: EnergyPer,
    /// Case labels along the x axis.
    pub categories: Vec<String>,
    /// One bar series per target or measure, values in joules (per token or per image).
    pub groups: Vec<BarSeries>,
}

impl EnergyChart {
    /// The equivalent grouped bar chart.
    pub fn to_bar_chart(&self) -> BarChart {
        BarChart {
            title: self.title.clone(),
            y_label: self.per.y_label().to_string(),
            categories: self.categories.clone(),
            groups: self.groups.clone(),
        }
    }

    /// Render the chart as an SVG document.
    pub fn render(&self, size: ChartSize) -> Result<String, ChartError> {
        self.to_bar_chart().render(size)
    }
}
