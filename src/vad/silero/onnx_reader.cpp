#include "vad/silero/onnx_reader.hpp"

#include <cstring>
#include <string_view>

namespace ae::silero {
namespace {

// ONNX field numbers (onnx.proto3).
constexpr uint32_t kModelGraph = 7;
constexpr uint32_t kGraphNode = 1;
constexpr uint32_t kNodeOutput = 2;
constexpr uint32_t kNodeOpType = 4;
constexpr uint32_t kNodeAttribute = 5;
constexpr uint32_t kAttrName = 1;
constexpr uint32_t kAttrTensor = 5;
constexpr uint32_t kAttrGraph = 6;
constexpr uint32_t kTensorDims = 1;
constexpr uint32_t kTensorDataType = 2;
constexpr uint32_t kTensorFloatData = 4;
constexpr uint32_t kTensorName = 8;
constexpr uint32_t kTensorRawData = 9;
constexpr uint64_t kTensorTypeFloat = 1;

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

struct Span {
  const uint8_t* data = nullptr;
  size_t size = 0;
  std::string_view str() const { return {reinterpret_cast<const char*>(data), size}; }
};

struct Field {
  uint32_t number = 0;
  uint32_t wire_type = 0;
  uint64_t varint = 0;  // kVarint, kFixed64, kFixed32 values
  Span bytes;           // kLengthDelimited payload
};

// Walks the fields of one message; next() returns false at the end or on malformed input (then error() is set).
class FieldReader {
 public:
  explicit FieldReader(Span s) : p_(s.data), end_(s.data + s.size) {}
  bool next(Field& f) {
    if (p_ == end_ || error_) return false;
    uint64_t key = 0;
    if (!read_varint(key)) return fail();
    f.number = static_cast<uint32_t>(key >> 3);
    f.wire_type = static_cast<uint32_t>(key & 7);
    switch (f.wire_type) {
      case kVarint: return read_varint(f.varint) || fail();
      case kFixed64: return read_fixed(f.varint, 8) || fail();
      case kFixed32: return read_fixed(f.varint, 4) || fail();
      case kLengthDelimited: {
        uint64_t len = 0;
        if (!read_varint(len) || len > static_cast<uint64_t>(end_ - p_)) return fail();
        f.bytes = {p_, static_cast<size_t>(len)};
        p_ += len;
        return true;
      }
      default: return fail();
    }
  }
  bool error() const { return error_; }

  static bool varints(Span s, std::vector<int64_t>& out) {
    FieldReader r(s);
    while (r.p_ != r.end_) {
      uint64_t v = 0;
      if (!r.read_varint(v)) return false;
      out.push_back(static_cast<int64_t>(v));
    }
    return true;
  }

 private:
  bool fail() { error_ = true; return false; }
  bool read_varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return false;
      const uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) return true;
    }
    return false;
  }
  bool read_fixed(uint64_t& v, size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(p_[i]) << (8 * i);
    p_ += n;
    return true;
  }
  const uint8_t* p_;
  const uint8_t* end_;
  bool error_ = false;
};

ErrorInfo malformed(const std::string& what) {
  return {Error::kInvalidFormat, "ONNX model: " + what};
}

// Reads a TensorProto; returns false on malformed input, sets `is_float` for float tensors.
bool read_tensor(Span s, OnnxTensor& t, bool& is_float, std::string& error) {
  FieldReader r(s);
  Field f;
  uint64_t type = 0;
  Span raw;
  bool has_raw = false;
  std::vector<float> float_data;
  while (r.next(f)) {
    if (f.number == kTensorDims) {
      if (f.wire_type == kVarint) t.dims.push_back(static_cast<int64_t>(f.varint));
      else if (f.wire_type == kLengthDelimited && !FieldReader::varints(f.bytes, t.dims)) return false;
    } else if (f.number == kTensorDataType && f.wire_type == kVarint) {
      type = f.varint;
    } else if (f.number == kTensorName && f.wire_type == kLengthDelimited) {
      t.name = std::string(f.bytes.str());
    } else if (f.number == kTensorRawData && f.wire_type == kLengthDelimited) {
      raw = f.bytes;
      has_raw = true;
    } else if (f.number == kTensorFloatData) {
      if (f.wire_type == kFixed32) {
        const auto bits = static_cast<uint32_t>(f.varint);
        float v;
        std::memcpy(&v, &bits, 4);
        float_data.push_back(v);
      } else if (f.wire_type == kLengthDelimited) {
        if (f.bytes.size % 4 != 0) return false;
        for (size_t i = 0; i < f.bytes.size; i += 4) {
          const uint32_t bits = static_cast<uint32_t>(f.bytes.data[i]) | (uint32_t{f.bytes.data[i + 1]} << 8) |
                                (uint32_t{f.bytes.data[i + 2]} << 16) | (uint32_t{f.bytes.data[i + 3]} << 24);
          float v;
          std::memcpy(&v, &bits, 4);
          float_data.push_back(v);
        }
      }
    }
  }
  if (r.error()) return false;
  is_float = type == kTensorTypeFloat;
  if (!is_float) return true;
  size_t count = 1;
  for (int64_t d : t.dims) {
    if (d < 0) { error = "tensor " + t.name + " has a negative dimension"; return false; }
    count *= static_cast<size_t>(d);
  }
  if (has_raw) {
    if (raw.size != count * 4) {
      error = "tensor " + t.name + " holds " + std::to_string(raw.size) + " bytes; its dims need " +
              std::to_string(count * 4);
      return false;
    }
    t.values.resize(count);
    for (size_t i = 0; i < count; ++i) {
      const uint8_t* b = raw.data + 4 * i;
      const uint32_t bits = uint32_t{b[0]} | (uint32_t{b[1]} << 8) | (uint32_t{b[2]} << 16) | (uint32_t{b[3]} << 24);
      std::memcpy(&t.values[i], &bits, 4);
    }
  } else {
    if (float_data.size() != count) {
      error = "tensor " + t.name + " holds " + std::to_string(float_data.size()) + " floats; its dims need " +
              std::to_string(count);
      return false;
    }
    t.values = std::move(float_data);
  }
  return true;
}

// Collects the float Constant tensors of a GraphProto (not descending into nested graphs).
bool read_graph_constants(Span graph, std::vector<OnnxTensor>& out, std::string& error) {
  FieldReader r(graph);
  Field f;
  while (r.next(f)) {
    if (f.number != kGraphNode || f.wire_type != kLengthDelimited) continue;
    FieldReader nr(f.bytes);
    Field nf;
    std::string_view op, output;
    Span value_tensor;
    bool has_value = false;
    while (nr.next(nf)) {
      if (nf.wire_type != kLengthDelimited) continue;
      if (nf.number == kNodeOpType) op = nf.bytes.str();
      else if (nf.number == kNodeOutput && output.empty()) output = nf.bytes.str();
      else if (nf.number == kNodeAttribute) {
        FieldReader ar(nf.bytes);
        Field af;
        std::string_view name;
        Span tensor;
        bool has_tensor = false;
        while (ar.next(af)) {
          if (af.number == kAttrName && af.wire_type == kLengthDelimited) name = af.bytes.str();
          if (af.number == kAttrTensor && af.wire_type == kLengthDelimited) { tensor = af.bytes; has_tensor = true; }
        }
        if (ar.error()) return false;
        if (name == "value" && has_tensor) { value_tensor = tensor; has_value = true; }
      }
    }
    if (nr.error()) return false;
    if (op != "Constant" || !has_value) continue;
    OnnxTensor t;
    bool is_float = false;
    if (!read_tensor(value_tensor, t, is_float, error)) return false;
    if (!is_float) continue;
    if (t.name.empty()) t.name = std::string(output);
    out.push_back(std::move(t));
  }
  return !r.error();
}

}  // namespace

Result<OnnxBranchConstants> read_if_branch_constants(const std::vector<uint8_t>& bytes) {
  FieldReader mr({bytes.data(), bytes.size()});
  Field f;
  Span graph;
  bool has_graph = false;
  while (mr.next(f)) {
    if (f.number == kModelGraph && f.wire_type == kLengthDelimited) { graph = f.bytes; has_graph = true; }
  }
  if (mr.error()) return malformed("not a well-formed protobuf message");
  if (!has_graph) return malformed("no graph");

  FieldReader gr(graph);
  while (gr.next(f)) {
    if (f.number != kGraphNode || f.wire_type != kLengthDelimited) continue;
    FieldReader nr(f.bytes);
    Field nf;
    bool is_if = false;
    Span then_graph, else_graph;
    bool has_then = false, has_else = false;
    while (nr.next(nf)) {
      if (nf.number == kNodeOpType && nf.wire_type == kLengthDelimited) is_if = nf.bytes.str() == "If";
      if (nf.number != kNodeAttribute || nf.wire_type != kLengthDelimited) continue;
      FieldReader ar(nf.bytes);
      Field af;
      std::string_view name;
      Span g;
      bool has_g = false;
      while (ar.next(af)) {
        if (af.number == kAttrName && af.wire_type == kLengthDelimited) name = af.bytes.str();
        if (af.number == kAttrGraph && af.wire_type == kLengthDelimited) { g = af.bytes; has_g = true; }
      }
      if (ar.error()) return malformed("malformed node attribute");
      if (has_g && name == "then_branch") { then_graph = g; has_then = true; }
      if (has_g && name == "else_branch") { else_graph = g; has_else = true; }
    }
    if (nr.error()) return malformed("malformed node");
    if (!is_if || !has_then || !has_else) continue;
    OnnxBranchConstants out;
    std::string error = "malformed Constant node";
    if (!read_graph_constants(then_graph, out.then_branch, error)) return malformed(error);
    error = "malformed Constant node";
    if (!read_graph_constants(else_graph, out.else_branch, error)) return malformed(error);
    return out;
  }
  if (gr.error()) return malformed("malformed graph");
  return malformed("no top-level If node (expected one switching on the sample rate)");
}

}  // namespace ae::silero
