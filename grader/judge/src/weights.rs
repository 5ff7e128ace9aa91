//! Saving and loading variables by name, independent of memory layout and device.

use std::path::Path;
use tch::nn::VarStore;
use tch::{Device, Tensor};

/// The names of the tensors in a safetensors file.
pub fn names(path: &Path) -> Result<Vec<String>, String> {
    let named = Tensor::read_safetensors(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(named.into_iter().map(|(name, _)| name).collect())
}

/// Loads a safetensors file into `vs` by name (every variable of `vs` must be in the file).
pub fn load(vs: &mut VarStore, path: &Path) -> Result<(), String> {
    vs.load(path).map_err(|e| format!("the trained weights do not fit the ResNet-18 the grader measures: {e}"))
}

/// Writes named CPU tensors (what a worker sent, already validated) to a safetensors file.
pub fn save_named(tensors: &[(String, Tensor)], path: &Path) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let mut named: Vec<(String, Tensor)> =
        tensors.iter().map(|(name, t)| (name.clone(), t.to_device(Device::Cpu).contiguous())).collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    Tensor::write_safetensors(&named, path)
        .map_err(|e| format!("cannot save the trained weights to {}: {e}", path.display()))
}
