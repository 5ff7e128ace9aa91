//! Normalization and augmentation, done per batch on the device that holds the data.

use tch::{Device, Kind, Tensor};

/// Per-channel mean of CIFAR-10 training pixels in [0, 1] (the notebook's constants).
pub const MEAN: [f64; 3] = [0.4914, 0.4822, 0.4465];
/// Per-channel standard deviation used by the notebook's `transforms.Normalize`.
pub const STD: [f64; 3] = [0.2023, 0.1994, 0.2010];

/// `uint8` images `[N, 3, H, W]` → standardized `float32` (`(x / 255 - mean) / std`).
pub fn normalize(images: &Tensor) -> Tensor {
    let (scale, shift) = normalization_constants(images.device());
    images.to_kind(Kind::Float) * scale + shift
}

thread_local! {
    /// `1 / (255 std)` and `-mean / std` as `[1, 3, 1, 1]` tensors, per device.
    static NORMALIZATION: std::cell::RefCell<Vec<(Device, Tensor, Tensor)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The per-channel affine map of [`normalize`] on `device`, copied there once per thread: a copy
/// from the host makes the CPU wait for every kernel queued before it, which per batch would
/// stall the GPU's queue.
fn normalization_constants(device: Device) -> (Tensor, Tensor) {
    NORMALIZATION.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((_, scale, shift)) = cache.iter().find(|(d, _, _)| *d == device) {
            return (scale.shallow_clone(), shift.shallow_clone());
        }
        let scale: Vec<f32> = STD.iter().map(|s| (1.0 / (255.0 * s)) as f32).collect();
        let shift: Vec<f32> = MEAN.iter().zip(STD).map(|(m, s)| (-m / s) as f32).collect();
        let scale = Tensor::from_slice(&scale).view([1, 3, 1, 1]).to_device(device);
        let shift = Tensor::from_slice(&shift).view([1, 3, 1, 1]).to_device(device);
        cache.push((device, scale.shallow_clone(), shift.shallow_clone()));
        (scale, shift)
    })
}

/// Random crop with zero padding `pad` (each image its own offset) and random horizontal flip,
/// as `transforms.RandomCrop(32, padding=4)` + `RandomHorizontalFlip()`; uses torch's global RNG.
pub fn random_crop_flip(images: &Tensor, pad: i64) -> Tensor {
    let (n, c, h, w) = images.size4().expect("images are [N, C, H, W]");
    let device = images.device();
    let int = (Kind::Int64, device);
    let padded = images.constant_pad_nd([pad, pad, pad, pad]);
    let dy = Tensor::randint(2 * pad + 1, [n, 1, 1, 1], int);
    let dx = Tensor::randint(2 * pad + 1, [n, 1, 1, 1], int);
    let rows = Tensor::arange(h, int).view([1, 1, h, 1]) + dy;
    let cols = Tensor::arange(w, int).view([1, 1, 1, w]) + dx;
    let batch = Tensor::arange(n, int).view([n, 1, 1, 1]);
    let channel = Tensor::arange(c, int).view([1, c, 1, 1]);
    let cropped = padded.index(&[Some(batch), Some(channel), Some(rows), Some(cols)]);
    let flip = Tensor::rand([n, 1, 1, 1], (Kind::Float, device)).lt(0.5);
    cropped.flip([3]).where_self(&flip, &cropped)
}

/// The same tensor with NHWC ("channels last") strides, which cuDNN's fastest kernels use.
/// tch does not expose `memory_format`; this permute round trip gives the same layout.
pub fn to_channels_last(t: &Tensor) -> Tensor {
    if t.dim() != 4 {
        return t.shallow_clone();
    }
    t.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}

/// Whether a tensor on `device` benefits from the channels-last layout (CUDA only).
pub fn channels_last_helps(device: Device) -> bool {
    device.is_cuda()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_maps_the_mean_pixel_to_zero() {
        let px: Vec<u8> = MEAN.iter().map(|m| (m * 255.0).round() as u8).collect();
        let img = Tensor::from_slice(&px).view([1, 3, 1, 1]);
        let out = normalize(&img);
        assert!(out.abs().max().double_value(&[]) < 0.01);
    }

    #[test]
    fn crops_are_shifted_windows_of_the_padded_image_possibly_flipped() {
        tch::manual_seed(3);
        let img = Tensor::arange(2 * 3 * 8 * 8, (Kind::Int64, Device::Cpu)).view([2, 3, 8, 8]);
        let out = random_crop_flip(&img, 2);
        assert_eq!(out.size(), [2, 3, 8, 8]);
        let padded = img.constant_pad_nd([2, 2, 2, 2]);
        for i in 0..2 {
            let found = (0..5).any(|dy| {
                (0..5).any(|dx| {
                    let window = padded.get(i).narrow(1, dy, 8).narrow(2, dx, 8);
                    window.equal(&out.get(i)) || window.flip([2]).equal(&out.get(i))
                })
            });
            assert!(found, "image {i} is not a crop of its padded input");
        }
    }

    #[test]
    fn channels_last_keeps_values_and_changes_strides() {
        let t = Tensor::randn([2, 3, 4, 5], (Kind::Float, Device::Cpu));
        let cl = to_channels_last(&t);
        assert!(cl.equal(&t));
        assert_eq!(cl.stride(), [60, 1, 15, 3]);
    }
}
