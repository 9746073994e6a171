#pragma once
// A minimal reader of the ONNX protobuf wire format: just enough to pull the float tensors of `Constant` nodes
// out of an ONNX model, including those nested inside the branches of `If` nodes. No protobuf library: the
// format is tag (field number << 3 | wire type) followed by a varint, a fixed 32/64-bit value or a
// length-delimited payload, and only a handful of ONNX fields matter here.

#include <audioengine/result.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ae::silero {

struct OnnxTensor {
  std::string name;          // the Constant's output name with any "If_..._branch__Inline_0__" prefix kept
  std::vector<int64_t> dims;
  std::vector<float> values; // float tensors only; other types are skipped
};

// The float Constant tensors of one branch of the first top-level `If` node.
struct OnnxBranchConstants {
  std::vector<OnnxTensor> then_branch;
  std::vector<OnnxTensor> else_branch;
};

// Parses `bytes` (a serialized ModelProto) and returns the float Constant tensors of the two branches of its
// first top-level If node. Errors: kInvalidFormat when the bytes are not a well-formed protobuf, a tensor's data
// size does not match its dims, or there is no top-level If. Thread: any. RT-safe: no.
Result<OnnxBranchConstants> read_if_branch_constants(const std::vector<uint8_t>& bytes);

}  // namespace ae::silero
