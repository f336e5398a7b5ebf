//! Chunked transfer of named tensors: splitting a model into bounded
//! `WeightsChunk` frames and reassembling them with every claim checked
//! (names, dtypes, shapes, byte counts, order). Knows nothing of libtorch: a
//! tensor here is a header plus its raw little-endian bytes.

use crate::v1::{Dtype, TaskRef, TensorHeader, WeightsBegin, WeightsChunk};

/// Upper bound on tensors in one transfer; a model with more is refused.
pub const MAX_TENSORS: usize = 100_000;

/// Upper bound on one transfer's total bytes (16 GiB).
pub const MAX_TRANSFER_BYTES: u64 = 16 * 1024 * 1024 * 1024;

/// Why a transfer was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TransferError {
    #[error("tensor `{name}` has unknown dtype")]
    UnknownDtype { name: String },
    #[error("tensor `{name}` has a negative dimension")]
    NegativeDimension { name: String },
    #[error("tensor `{name}` declares {declared} bytes but its shape and dtype need {expected}")]
    ByteLength {
        name: String,
        declared: u64,
        expected: u64,
    },
    #[error("transfer has {0} tensors, more than the limit of {MAX_TENSORS}")]
    TooManyTensors(usize),
    #[error("transfer of {0} bytes exceeds the limit of {MAX_TRANSFER_BYTES}")]
    TooLarge(u64),
    #[error("duplicate tensor name `{0}`")]
    DuplicateName(String),
    #[error("chunk for task {got:?} does not belong to the transfer for {expected:?}")]
    WrongTask { expected: TaskRef, got: TaskRef },
    #[error(
        "chunk for tensor {got} at offset {offset} arrived out of order (expected tensor {expected_index} at {expected_offset})"
    )]
    OutOfOrder {
        got: u32,
        offset: u64,
        expected_index: usize,
        expected_offset: u64,
    },
    #[error("chunk of {len} bytes exceeds the {limit}-byte chunk limit")]
    ChunkTooLarge { len: usize, limit: usize },
    #[error("chunk overruns tensor `{name}`")]
    Overrun { name: String },
    #[error("transfer announces `{got}` where the model has `{expected}`")]
    Mismatch { expected: String, got: String },
    #[error("an empty chunk cannot make progress")]
    EmptyChunk,
    #[error("transfer is already complete")]
    AlreadyComplete,
}

/// Size in bytes of one element of `dtype`, or `None` for an unknown dtype.
pub fn dtype_size(dtype: Dtype) -> Option<u64> {
    match dtype {
        Dtype::F32 | Dtype::I32 => Some(4),
        Dtype::F64 | Dtype::I64 => Some(8),
        Dtype::U8 | Dtype::Bool => Some(1),
        Dtype::F16 | Dtype::Bf16 => Some(2),
        Dtype::Unspecified => None,
    }
}

/// Checks a header's own consistency and returns its byte length.
pub fn validate_header(header: &TensorHeader) -> Result<u64, TransferError> {
    let dtype = Dtype::try_from(header.dtype).unwrap_or(Dtype::Unspecified);
    let size = dtype_size(dtype).ok_or_else(|| TransferError::UnknownDtype {
        name: header.name.clone(),
    })?;
    let mut elements: u64 = 1;
    for &dim in &header.shape {
        let dim = u64::try_from(dim).map_err(|_| TransferError::NegativeDimension {
            name: header.name.clone(),
        })?;
        elements = elements.saturating_mul(dim);
    }
    let expected = elements.saturating_mul(size);
    if expected != header.byte_len {
        return Err(TransferError::ByteLength {
            name: header.name.clone(),
            declared: header.byte_len,
            expected,
        });
    }
    Ok(expected)
}

/// Builds the chunk frames for one tensor's bytes. Tensors are sent one after
/// another, so the sender never holds more than one tensor's bytes at a time.
pub fn chunk_tensor<'a>(
    task: &'a TaskRef,
    tensor_index: u32,
    bytes: &'a [u8],
    chunk_bytes: usize,
) -> impl Iterator<Item = WeightsChunk> + 'a {
    let chunk_bytes = chunk_bytes.max(1);
    bytes
        .chunks(chunk_bytes)
        .enumerate()
        .map(move |(i, data)| WeightsChunk {
            task: Some(task.clone()),
            tensor_index,
            offset: (i * chunk_bytes) as u64,
            data: data.to_vec(),
        })
}

/// One fully received tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedTensor {
    pub header: TensorHeader,
    pub bytes: Vec<u8>,
}

/// Reassembles a transfer from a `WeightsBegin` and its chunks, yielding each
/// tensor as soon as its last byte arrives. Memory held: one tensor.
#[derive(Debug)]
pub struct Assembler {
    task: TaskRef,
    headers: Vec<TensorHeader>,
    lengths: Vec<u64>,
    max_chunk: usize,
    current: usize,
    buffer: Vec<u8>,
}

impl Assembler {
    /// Validates the announced tensors. `expected`, when given, is the exact list
    /// of (name, dtype, shape) the receiver will accept, in order.
    pub fn new(
        begin: WeightsBegin,
        max_chunk: usize,
        expected: Option<&[TensorHeader]>,
    ) -> Result<Self, TransferError> {
        if begin.tensors.len() > MAX_TENSORS {
            return Err(TransferError::TooManyTensors(begin.tensors.len()));
        }
        let mut lengths = Vec::with_capacity(begin.tensors.len());
        let mut total: u64 = 0;
        let mut names = std::collections::HashSet::new();
        for header in &begin.tensors {
            if !names.insert(header.name.as_str()) {
                return Err(TransferError::DuplicateName(header.name.clone()));
            }
            let len = validate_header(header)?;
            total = total.saturating_add(len);
            lengths.push(len);
        }
        if total > MAX_TRANSFER_BYTES {
            return Err(TransferError::TooLarge(total));
        }
        if let Some(expected) = expected {
            check_matches(expected, &begin.tensors)?;
        }
        let mut assembler = Self {
            task: begin.task.unwrap_or_default(),
            headers: begin.tensors,
            lengths,
            max_chunk,
            current: 0,
            buffer: Vec::new(),
        };
        assembler.start_tensor();
        Ok(assembler)
    }

    /// The task this transfer belongs to.
    pub fn task(&self) -> &TaskRef {
        &self.task
    }

    /// The announced tensors, in transfer order.
    pub fn headers(&self) -> &[TensorHeader] {
        &self.headers
    }

    /// True once every tensor has been received.
    pub fn is_complete(&self) -> bool {
        self.current >= self.headers.len()
    }

    /// Takes one chunk; returns the tensors it completed (zero, one, or several
    /// when empty tensors follow).
    pub fn push(&mut self, chunk: WeightsChunk) -> Result<Vec<ReceivedTensor>, TransferError> {
        let task = chunk.task.clone().unwrap_or_default();
        if task != self.task {
            return Err(TransferError::WrongTask {
                expected: self.task.clone(),
                got: task,
            });
        }
        if self.is_complete() {
            return Err(TransferError::AlreadyComplete);
        }
        if chunk.data.len() > self.max_chunk {
            return Err(TransferError::ChunkTooLarge {
                len: chunk.data.len(),
                limit: self.max_chunk,
            });
        }
        if chunk.data.is_empty() {
            return Err(TransferError::EmptyChunk);
        }
        let expected_offset = self.buffer.len() as u64;
        if chunk.tensor_index as usize != self.current || chunk.offset != expected_offset {
            return Err(TransferError::OutOfOrder {
                got: chunk.tensor_index,
                offset: chunk.offset,
                expected_index: self.current,
                expected_offset,
            });
        }
        let remaining = self.lengths[self.current] - expected_offset;
        if chunk.data.len() as u64 > remaining {
            return Err(TransferError::Overrun {
                name: self.headers[self.current].name.clone(),
            });
        }
        self.buffer.extend_from_slice(&chunk.data);
        Ok(self.drain_complete())
    }

    fn start_tensor(&mut self) {
        // Zero-length tensors complete without chunks; they are drained by the caller.
        if let Some(&len) = self.lengths.get(self.current) {
            self.buffer = Vec::with_capacity(len as usize);
        }
    }

    /// Tensors whose bytes are all here; also flushes zero-length tensors at the
    /// start of a transfer.
    pub fn drain_complete(&mut self) -> Vec<ReceivedTensor> {
        let mut done = Vec::new();
        while !self.is_complete() && self.buffer.len() as u64 == self.lengths[self.current] {
            done.push(ReceivedTensor {
                header: self.headers[self.current].clone(),
                bytes: std::mem::take(&mut self.buffer),
            });
            self.current += 1;
            self.start_tensor();
        }
        done
    }
}

fn check_matches(expected: &[TensorHeader], got: &[TensorHeader]) -> Result<(), TransferError> {
    let describe = |h: &TensorHeader| {
        format!(
            "{} {:?} {:?}",
            h.name,
            h.shape,
            Dtype::try_from(h.dtype).unwrap_or(Dtype::Unspecified)
        )
    };
    if expected.len() != got.len() {
        return Err(TransferError::Mismatch {
            expected: format!("{} tensors", expected.len()),
            got: format!("{} tensors", got.len()),
        });
    }
    for (want, have) in expected.iter().zip(got) {
        if want.name != have.name || want.dtype != have.dtype || want.shape != have.shape {
            return Err(TransferError::Mismatch {
                expected: describe(want),
                got: describe(have),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, shape: &[i64]) -> TensorHeader {
        let elements: i64 = shape.iter().product();
        TensorHeader {
            name: name.into(),
            dtype: Dtype::F32 as i32,
            shape: shape.to_vec(),
            byte_len: elements as u64 * 4,
        }
    }

    fn task() -> TaskRef {
        TaskRef {
            run_id: "r".into(),
            round: 3,
        }
    }

    #[test]
    fn reassembles_tensors_split_across_chunks() {
        let headers = vec![
            header("a", &[3, 5]),
            header("empty", &[0]),
            header("b", &[7]),
        ];
        let a: Vec<u8> = (0..60).collect();
        let b: Vec<u8> = (100..128).collect();
        let begin = WeightsBegin {
            task: Some(task()),
            tensors: headers.clone(),
        };
        let mut asm = Assembler::new(begin, 16, Some(&headers)).expect("valid begin");
        let t = task();
        let mut got = Vec::new();
        for chunk in chunk_tensor(&t, 0, &a, 16).chain(chunk_tensor(&t, 2, &b, 16)) {
            got.extend(asm.push(chunk).expect("in-order chunk"));
        }
        assert!(asm.is_complete());
        let names: Vec<_> = got.iter().map(|t| t.header.name.as_str()).collect();
        assert_eq!(names, ["a", "empty", "b"]);
        assert_eq!(got[0].bytes, a);
        assert!(got[1].bytes.is_empty());
        assert_eq!(got[2].bytes, b);
    }

    #[test]
    fn rejects_stale_task_and_disorder() {
        let headers = vec![header("a", &[8])];
        let begin = WeightsBegin {
            task: Some(task()),
            tensors: headers,
        };
        let mut asm = Assembler::new(begin, 64, None).expect("valid begin");
        let stale = TaskRef {
            run_id: "r".into(),
            round: 2,
        };
        let chunk = chunk_tensor(&stale, 0, &[0; 32], 64)
            .next()
            .expect("one chunk");
        assert!(matches!(
            asm.push(chunk),
            Err(TransferError::WrongTask { .. })
        ));
        let t = task();
        let skipped = WeightsChunk {
            task: Some(t.clone()),
            tensor_index: 0,
            offset: 4,
            data: vec![0; 4],
        };
        assert!(matches!(
            asm.push(skipped),
            Err(TransferError::OutOfOrder { .. })
        ));
        let overrun = WeightsChunk {
            task: Some(t),
            tensor_index: 0,
            offset: 0,
            data: vec![0; 40],
        };
        assert!(matches!(
            asm.push(overrun),
            Err(TransferError::Overrun { .. })
        ));
    }

    #[test]
    fn rejects_lying_headers() {
        let mut bad = header("a", &[2, 2]);
        bad.byte_len = 4;
        let begin = WeightsBegin {
            task: Some(task()),
            tensors: vec![bad],
        };
        assert!(matches!(
            Assembler::new(begin, 64, None),
            Err(TransferError::ByteLength { .. })
        ));
        let expected = vec![header("a", &[2, 2])];
        let begin = WeightsBegin {
            task: Some(task()),
            tensors: vec![header("a", &[4])],
        };
        assert!(Assembler::new(begin, 64, Some(&expected)).is_err());
    }
}
