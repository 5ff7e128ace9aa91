//! [`CheckId`]: every check's name as a type, so that the judge's dispatch is a `match` the
//! compiler checks for exhaustiveness and a misspelt id does not compile.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Declares [`CheckId`] from `Variant = "exercise.name"` pairs. (The handout's has the public
/// checks only: a hidden check's name is not shown to students before grading.)
macro_rules! check_ids {
    ($($variant:ident = $id:literal,)*) => {
        /// A check's identity. Its string form (`"basic_block.shape"`) is what reports, the
        /// gradebook, `--only` and the corpus's cases use.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum CheckId {
            $(#[doc = concat!("`", $id, "`")] $variant,)*
        }

        impl CheckId {
            /// Every id: the public checks', then the hidden ones'.
            pub const ALL: &[CheckId] = &[$(CheckId::$variant,)*];

            /// The stable string form, `exercise.name`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(CheckId::$variant => $id,)*
                }
            }
        }
    };
}

check_ids! {
    BasicBlockShape = "basic_block.shape",
    BasicBlockShapeDownsample = "basic_block.shape_downsample",
    BasicBlockOutputs = "basic_block.outputs",
    BottleneckShape = "bottleneck.shape",
    BottleneckShapeStride = "bottleneck.shape_stride",
    BottleneckOutputs = "bottleneck.outputs",
    HeInitLayers = "he_init.layers",
    TrainingRuns = "training.runs",
    TrainingAccuracy = "training.accuracy",
    AblationRuns = "ablation.runs",
    // BEGIN HIDDEN
    BasicBlockParameters = "basic_block.parameters",
    BasicBlockNumerics = "basic_block.numerics",
    BasicBlockSkip = "basic_block.skip",
    BasicBlockGradients = "basic_block.gradients",
    BasicBlockShapeLaws = "basic_block.shape_laws",
    BottleneckParameters = "bottleneck.parameters",
    BottleneckNumerics = "bottleneck.numerics",
    BottleneckSkip = "bottleneck.skip",
    BottleneckGradients = "bottleneck.gradients",
    BottleneckShapeLaws = "bottleneck.shape_laws",
    HeInitOrder = "he_init.order",
    HeInitValues = "he_init.values",
    TrainingReported = "training.reported",
    AblationVariants = "ablation.variants",
    AblationMeasured = "ablation.measured",
    // END HIDDEN
}

/// A string that names no check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no check is called `{0}` (`grader list --hidden` lists them)")]
pub struct UnknownCheck(pub String);

impl std::str::FromStr for CheckId {
    type Err = UnknownCheck;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.iter().copied().find(|id| id.as_str() == s).ok_or_else(|| UnknownCheck(s.to_string()))
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl Serialize for CheckId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CheckId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// In schemas, a check id is a string `exercise.name` (the ids themselves are not listed: the
/// handout's schema must not name the hidden checks).
impl schemars::JsonSchema for CheckId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "CheckId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[a-z_]+\\.[a-z_]+$",
            "description": "A check's id, `exercise.name` (`grader list --hidden` lists them)."
        })
    }
}

impl PartialEq<&str> for CheckId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_their_strings_and_serde() {
        for &id in CheckId::ALL {
            assert_eq!(id.as_str().parse::<CheckId>(), Ok(id));
            assert_eq!(serde_json::to_value(id).unwrap(), serde_json::json!(id.as_str()));
            assert_eq!(serde_json::from_value::<CheckId>(serde_json::json!(id.as_str())).unwrap(), id);
        }
        let err = "basic_block.shapes".parse::<CheckId>().unwrap_err();
        assert!(err.to_string().contains("`basic_block.shapes`"), "{err}");
    }
}
