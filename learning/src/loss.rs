//! The training criteria on libtorch tensors, and the label checks that make a
//! mismatch between labels and model output an error with a clear message
//! instead of silent broadcasting (e.g. MSE of `(N, 1)` against `(N,)`).

use tch::{Kind, Reduction, Tensor};

use crate::hyper::Criterion;
use crate::train::TrainError;

/// Brings labels into the form `criterion` consumes: class indices as i64 of
/// shape `(N,)` for CrossEntropyLoss/NLLLoss, floats of shape `(N, k)`
/// otherwise (a 1-D float vector becomes `(N, 1)`).
pub(crate) fn prepare_targets(criterion: Criterion, y: &Tensor) -> Result<Tensor, TrainError> {
    let data = |m: String| Err(TrainError::Data(m));
    if criterion.takes_class_indices() {
        if y.is_floating_point() || y.kind() == Kind::Bool {
            return data(format!(
                "{criterion} needs integer class labels, but the labels have kind {:?}",
                y.kind()
            ));
        }
        let y = match y.dim() {
            1 => y.shallow_clone(),
            2 if y.size()[1] == 1 => y.f_squeeze_dim(1)?,
            _ => {
                return data(format!(
                    "{criterion} needs one class label per row, but the labels have shape {:?}",
                    y.size()
                ));
            }
        };
        Ok(y.f_to_kind(Kind::Int64)?)
    } else {
        let y = if y.dim() == 1 {
            y.f_unsqueeze(1)?
        } else {
            y.shallow_clone()
        };
        Ok(y.f_to_kind(Kind::Float)?)
    }
}

/// The criterion's mean loss of `output` against targets from [`prepare_targets`].
pub(crate) fn criterion_loss(
    criterion: Criterion,
    output: &Tensor,
    target: &Tensor,
) -> Result<Tensor, TrainError> {
    if criterion.takes_class_indices() {
        let classes = match output.size().as_slice() {
            [rows, classes] if *rows == target.size()[0] => *classes,
            shape => {
                return Err(TrainError::Data(format!(
                    "{criterion} needs model output of shape (rows, classes) = ({}, classes), got {shape:?}",
                    target.size()[0]
                )));
            }
        };
        if target.numel() > 0 {
            let lo = target.f_min()?.f_int64_value(&[])?;
            let hi = target.f_max()?.f_int64_value(&[])?;
            if lo < 0 || hi >= classes {
                let bad = if lo < 0 { lo } else { hi };
                return Err(TrainError::Data(format!(
                    "label {bad} is outside the model's {classes} classes (0..{})",
                    classes - 1
                )));
            }
        }
    } else if output.size() != target.size() {
        return Err(TrainError::Data(format!(
            "{criterion}: model output has shape {:?} but the labels have shape {:?}",
            output.size(),
            target.size()
        )));
    }
    let none = None::<Tensor>;
    let loss = match criterion {
        Criterion::BceLoss => output.f_binary_cross_entropy(target, none, Reduction::Mean)?,
        Criterion::BceWithLogitsLoss => output.f_binary_cross_entropy_with_logits(
            target,
            none.as_ref(),
            None,
            Reduction::Mean,
        )?,
        Criterion::CrossEntropyLoss => {
            output.f_cross_entropy_loss(target, none, Reduction::Mean, -100, 0.0)?
        }
        Criterion::NllLoss => output.f_nll_loss(target, none, Reduction::Mean, -100)?,
        Criterion::MseLoss => output.f_mse_loss(target, Reduction::Mean)?,
        Criterion::L1Loss => output.f_l1_loss(target, Reduction::Mean)?,
        Criterion::SmoothL1Loss => output.f_smooth_l1_loss(target, Reduction::Mean, 1.0)?,
    };
    Ok(loss)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn matches_closed_forms() {
        let p = Tensor::from_slice(&[0.8f32, 0.4]).unsqueeze(1);
        let y =
            prepare_targets(Criterion::BceLoss, &Tensor::from_slice(&[1.0f32, 0.0])).expect("ok");
        let bce = criterion_loss(Criterion::BceLoss, &p, &y)
            .expect("ok")
            .double_value(&[]);
        let expected = -(0.8f64.ln() + 0.6f64.ln()) / 2.0;
        assert!((bce - expected).abs() < 1e-6);

        let logits = Tensor::from_slice(&[2.0f32, 0.0, 0.0, 0.0, 1.0, 0.0]).reshape([2, 3]);
        let labels = prepare_targets(Criterion::CrossEntropyLoss, &Tensor::from_slice(&[0i64, 1]))
            .expect("ok");
        let ce = criterion_loss(Criterion::CrossEntropyLoss, &logits, &labels)
            .expect("ok")
            .double_value(&[]);
        let lse0 = (2f64.exp() + 2.0).ln();
        let lse1 = (1f64.exp() + 2.0).ln();
        let expected = ((lse0 - 2.0) + (lse1 - 1.0)) / 2.0;
        assert!((ce - expected).abs() < 1e-6);
    }

    #[test]
    fn mismatched_labels_are_data_errors() {
        let out = Tensor::zeros([4, 1], (Kind::Float, Device::Cpu));
        let y = Tensor::zeros([4, 2], (Kind::Float, Device::Cpu));
        let err = criterion_loss(Criterion::MseLoss, &out, &y).expect_err("shape");
        assert_eq!(
            err.to_string(),
            "invalid data: MSELoss: model output has shape [4, 1] but the labels have shape [4, 2]"
        );
        let logits = Tensor::zeros([2, 3], (Kind::Float, Device::Cpu));
        let y = prepare_targets(Criterion::NllLoss, &Tensor::from_slice(&[0i64, 3])).expect("ok");
        let err = criterion_loss(Criterion::NllLoss, &logits, &y).expect_err("range");
        assert_eq!(
            err.to_string(),
            "invalid data: label 3 is outside the model's 3 classes (0..2)"
        );
        let err = prepare_targets(Criterion::CrossEntropyLoss, &Tensor::from_slice(&[0.0f32]))
            .expect_err("float labels");
        assert!(err.to_string().contains("integer class labels"));
    }
}
