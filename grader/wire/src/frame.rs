//! Frames: `u64` length + JSON header, `u64` length + safetensors blob of named tensors.
//!
//! The reader enforces size limits before allocating, so a hostile peer can at most make a read
//! fail; tensors are rebuilt from validated bytes (never through libtorch's own file parsers).

use serde::{Serialize, de::DeserializeOwned};
use std::io::{Read, Write};
use tch::{Kind, Tensor};

/// Largest JSON header accepted.
pub const MAX_HEADER: u64 = 16 << 20;
/// Largest tensor blob accepted (three full-width ResNet-18s with room to spare).
pub const MAX_BLOB: u64 = 1 << 30;

/// Named tensors that travel with a header (CPU, contiguous).
pub type Tensors = Vec<(String, Tensor)>;

/// Why a frame could not be read.
#[derive(Debug)]
pub enum FrameError {
    /// The peer closed the channel before a whole frame arrived (it exited or crashed).
    Closed,
    /// The bytes are not a valid frame; the reason.
    Malformed(String),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Closed => write!(f, "the channel closed before a whole message arrived"),
            Self::Malformed(why) => write!(f, "a malformed message: {why}"),
        }
    }
}

fn read_exact_or_closed(reader: &mut impl Read, buffer: &mut [u8]) -> Result<(), FrameError> {
    reader.read_exact(buffer).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::BrokenPipe => FrameError::Closed,
        _ => FrameError::Malformed(e.to_string()),
    })
}

fn read_len(reader: &mut impl Read, limit: u64, what: &str) -> Result<usize, FrameError> {
    let mut bytes = [0u8; 8];
    read_exact_or_closed(reader, &mut bytes)?;
    let len = u64::from_le_bytes(bytes);
    if len > limit {
        return Err(FrameError::Malformed(format!("a {what} of {len} bytes (at most {limit})")));
    }
    Ok(len as usize)
}

/// Writes one frame.
pub fn write<H: Serialize>(writer: &mut impl Write, header: &H, tensors: &[(String, Tensor)]) -> std::io::Result<()> {
    let json = serde_json::to_vec(header).map_err(std::io::Error::other)?;
    let blob = encode(tensors).map_err(std::io::Error::other)?;
    writer.write_all(&(json.len() as u64).to_le_bytes())?;
    writer.write_all(&json)?;
    writer.write_all(&(blob.len() as u64).to_le_bytes())?;
    writer.write_all(&blob)?;
    writer.flush()
}

/// Reads one frame.
pub fn read<H: DeserializeOwned>(reader: &mut impl Read) -> Result<(H, Tensors), FrameError> {
    let len = read_len(reader, MAX_HEADER, "header")?;
    let mut json = vec![0u8; len];
    read_exact_or_closed(reader, &mut json)?;
    let header = serde_json::from_slice(&json).map_err(|e| FrameError::Malformed(format!("header: {e}")))?;
    let len = read_len(reader, MAX_BLOB, "tensor blob")?;
    let mut blob = vec![0u8; len];
    read_exact_or_closed(reader, &mut blob)?;
    Ok((header, decode(&blob).map_err(FrameError::Malformed)?))
}

fn dtype_of(kind: Kind) -> Result<safetensors::Dtype, String> {
    Ok(match kind {
        Kind::Float => safetensors::Dtype::F32,
        Kind::Int64 => safetensors::Dtype::I64,
        Kind::Uint8 => safetensors::Dtype::U8,
        other => return Err(format!("tensors of kind {other:?} do not travel (float, int64 and uint8 do)")),
    })
}

struct View {
    dtype: safetensors::Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl safetensors::View for &View {
    fn dtype(&self) -> safetensors::Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// Tensors as a safetensors blob (empty for no tensors).
pub fn encode(tensors: &[(String, Tensor)]) -> Result<Vec<u8>, String> {
    if tensors.is_empty() {
        return Ok(Vec::new());
    }
    let mut views = Vec::with_capacity(tensors.len());
    for (name, tensor) in tensors {
        let tensor = tensor.detach().to_device(tch::Device::Cpu).contiguous();
        let kind = tensor.kind();
        let dtype = dtype_of(kind)?;
        let numel = tensor.numel();
        let mut data = vec![0u8; numel * kind.elt_size_in_bytes()];
        if numel > 0 {
            tensor.copy_data_u8(&mut data, numel);
        }
        let shape = tensor.size().iter().map(|&d| d as usize).collect();
        views.push((name.clone(), View { dtype, shape, data }));
    }
    let refs: Vec<(String, &View)> = views.iter().map(|(n, v)| (n.clone(), v)).collect();
    safetensors::tensor::serialize(refs, &None).map_err(|e| format!("cannot encode tensors: {e:?}"))
}

/// Tensors from a safetensors blob, in the blob's order. Only float32, int64 and uint8 tensors are
/// accepted; values are not judged here (the judge checks shapes and finiteness where they matter).
pub fn decode(blob: &[u8]) -> Result<Tensors, String> {
    if blob.is_empty() {
        return Ok(Vec::new());
    }
    let parsed = safetensors::SafeTensors::deserialize(blob).map_err(|e| format!("tensors: {e:?}"))?;
    let mut out = Vec::new();
    for (name, view) in parsed.tensors() {
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        let bytes = view.data();
        let tensor = match view.dtype() {
            safetensors::Dtype::F32 => {
                let values: Vec<f32> =
                    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
                Tensor::from_slice(&values)
            }
            safetensors::Dtype::I64 => {
                let values: Vec<i64> =
                    bytes.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes"))).collect();
                Tensor::from_slice(&values)
            }
            safetensors::Dtype::U8 => Tensor::from_slice(bytes),
            other => return Err(format!("tensor {name} has dtype {other:?}")),
        };
        out.push((name, tensor.reshape(&shape)));
    }
    Ok(out)
}

/// The tensors whose names start with `prefix`, with the prefix removed.
pub fn with_prefix(tensors: &[(String, Tensor)], prefix: &str) -> Tensors {
    tensors
        .iter()
        .filter_map(|(n, t)| n.strip_prefix(prefix).map(|rest| (rest.to_string(), t.shallow_clone())))
        .collect()
}

/// The tensor named `name`.
pub fn named<'a>(tensors: &'a [(String, Tensor)], name: &str) -> Option<&'a Tensor> {
    tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_headers_and_tensors() {
        let tensors = vec![
            ("a".to_string(), Tensor::from_slice(&[1.5f32, -2.0, 3.25]).reshape([3, 1])),
            ("b".to_string(), Tensor::from_slice(&[7i64, 8])),
            ("c".to_string(), Tensor::from_slice(&[1u8, 2, 255])),
        ];
        let mut bytes = Vec::new();
        write(&mut bytes, &serde_json::json!({"x": 1}), &tensors).unwrap();
        let (header, back): (serde_json::Value, Tensors) = read(&mut bytes.as_slice()).unwrap();
        assert_eq!(header["x"], 1);
        assert_eq!(back.len(), 3);
        for (name, t) in &tensors {
            let got = named(&back, name).unwrap();
            assert_eq!((got.kind(), got.size()), (t.kind(), t.size()));
            assert!(got.equal(t));
        }
    }

    #[test]
    fn truncated_and_oversized_frames_are_refused() {
        let mut bytes = Vec::new();
        write(&mut bytes, &1, &[]).unwrap();
        assert!(matches!(read::<i32>(&mut &bytes[..bytes.len() - 1]), Err(FrameError::Closed)));
        let huge = (MAX_HEADER + 1).to_le_bytes();
        assert!(matches!(read::<i32>(&mut &huge[..]), Err(FrameError::Malformed(_))));
        let mut garbage = 4u64.to_le_bytes().to_vec();
        garbage.extend_from_slice(b"nope");
        garbage.extend_from_slice(&0u64.to_le_bytes());
        assert!(matches!(read::<i32>(&mut garbage.as_slice()), Err(FrameError::Malformed(_))));
    }
}
