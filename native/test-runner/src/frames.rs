//! RunMat's worker frames (a 4-byte big-endian length, then the JSON message, as the runner's
//! `encode_frame` writes them) over blocking pipes.

use std::io::{Read, Write};

use runmat_test::protocol::{ProtocolLimits, WorkerRequest, WorkerResponse};
use runmat_test_runner::worker::{
    decode_frame, decode_request_frame, encode_frame, encode_response_frame,
};
use runmat_test_runner::RunnerResult;

/// Why a frame could not be read: the other side closed the pipe, or sent something invalid.
#[derive(Debug)]
pub enum FrameError {
    Closed,
    Invalid(String),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Closed => f.write_str("the pipe closed"),
            FrameError::Invalid(message) => f.write_str(message),
        }
    }
}

fn read_frame(reader: &mut impl Read, limits: ProtocolLimits) -> Result<Vec<u8>, FrameError> {
    let mut prefix = [0u8; 4];
    reader
        .read_exact(&mut prefix)
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::UnexpectedEof => FrameError::Closed,
            _ => FrameError::Invalid(error.to_string()),
        })?;
    let length = u32::from_be_bytes(prefix);
    if length > limits.max_message_bytes {
        return Err(FrameError::Invalid(format!(
            "a worker frame of {length} bytes exceeds the {} byte bound",
            limits.max_message_bytes
        )));
    }
    let mut frame = Vec::with_capacity(4 + length as usize);
    frame.extend_from_slice(&prefix);
    frame.resize(4 + length as usize, 0);
    reader
        .read_exact(&mut frame[4..])
        .map_err(|_| FrameError::Closed)?;
    Ok(frame)
}

fn read<T>(
    reader: &mut impl Read,
    limits: ProtocolLimits,
    decode: fn(&[u8], ProtocolLimits) -> RunnerResult<T>,
) -> Result<T, FrameError> {
    let frame = read_frame(reader, limits)?;
    decode(&frame, limits).map_err(|error| FrameError::Invalid(error.to_string()))
}

pub fn read_request(
    reader: &mut impl Read,
    limits: ProtocolLimits,
) -> Result<WorkerRequest, FrameError> {
    read(reader, limits, decode_request_frame)
}

pub fn read_response(
    reader: &mut impl Read,
    limits: ProtocolLimits,
) -> Result<WorkerResponse, FrameError> {
    read(reader, limits, decode_frame)
}

fn write<T>(
    writer: &mut impl Write,
    message: &T,
    limits: ProtocolLimits,
    encode: fn(&T, ProtocolLimits) -> RunnerResult<Vec<u8>>,
) -> Result<(), String> {
    let frame = encode(message, limits).map_err(|error| error.to_string())?;
    writer
        .write_all(&frame)
        .and_then(|()| writer.flush())
        .map_err(|error| error.to_string())
}

pub fn write_request(
    writer: &mut impl Write,
    request: &WorkerRequest,
    limits: ProtocolLimits,
) -> Result<(), String> {
    write(writer, request, limits, encode_frame)
}

pub fn write_response(
    writer: &mut impl Write,
    response: &WorkerResponse,
    limits: ProtocolLimits,
) -> Result<(), String> {
    write(writer, response, limits, encode_response_frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use runmat_test::protocol::ProtocolHandshake;

    #[test]
    fn requests_and_responses_survive_the_pipe() {
        let limits = ProtocolLimits::default();
        let mut pipe = Vec::new();
        let handshake = ProtocolHandshake::current("test", Vec::new());
        write_request(
            &mut pipe,
            &WorkerRequest::Handshake(handshake.clone()),
            limits,
        )
        .unwrap();
        write_request(&mut pipe, &WorkerRequest::Shutdown, limits).unwrap();
        write_response(&mut pipe, &WorkerResponse::ShutdownComplete, limits).unwrap();
        let mut reader = pipe.as_slice();
        assert_eq!(
            read_request(&mut reader, limits).unwrap(),
            WorkerRequest::Handshake(handshake)
        );
        assert_eq!(
            read_request(&mut reader, limits).unwrap(),
            WorkerRequest::Shutdown
        );
        assert_eq!(
            read_response(&mut reader, limits).unwrap(),
            WorkerResponse::ShutdownComplete
        );
        assert!(matches!(
            read_request(&mut reader, limits),
            Err(FrameError::Closed)
        ));
    }

    #[test]
    fn an_oversized_or_cut_frame_is_refused() {
        let limits = ProtocolLimits {
            max_message_bytes: 8,
            ..ProtocolLimits::default()
        };
        let oversized = [0u8, 0, 1, 0, b'{'];
        assert!(matches!(
            read_request(&mut oversized.as_slice(), limits),
            Err(FrameError::Invalid(message)) if message.contains("exceeds")
        ));
        let cut = [0u8, 0, 0, 6, b'{', b'"'];
        assert!(matches!(
            read_request(&mut cut.as_slice(), limits),
            Err(FrameError::Closed)
        ));
    }
}
