//===- Artifact.cpp - Writing and loading .rbln files ---------------------===//
#include "rbln/runtime/Artifact.h"

#include "rbln/runtime/Checked.h"
#include "rbln/runtime/File.h"

#include "rbln/runtime/Target.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rbln {

const char *sectionName(SectionKind k) {
  switch (k) {
  case SectionKind::Metadata: return "metadata";
  case SectionKind::Code: return "code";
  case SectionKind::Weights: return "weights";
  case SectionKind::Debug: return "debug";
  }
  return "unknown";
}

uint32_t crc32(const uint8_t *data, size_t size, uint32_t crc) {
  // Slice-by-8: eight table lookups per 8 bytes (the plain byte-wise loop
  // ran at ~0.4 GB/s and dominated writing and loading large weight pools).
  static uint32_t table[8][256];
  static bool init = [] {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (int t = 1; t < 8; ++t)
        table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
    return true;
  }();
  (void)init;
  crc = ~crc;
  for (; size >= 8; size -= 8, data += 8) {
    uint32_t lo, hi;
    std::memcpy(&lo, data, 4);
    std::memcpy(&hi, data + 4, 4);
    lo ^= crc;
    crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
          table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
          table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
  }
  for (; size > 0; --size, ++data)
    crc = table[0][(crc ^ *data) & 0xff] ^ (crc >> 8);
  return ~crc;
}

namespace {
template <typename T> void put(std::vector<uint8_t> &out, size_t at, T v) {
  std::memcpy(out.data() + at, &v, sizeof(T));
}
template <typename T> T get(const uint8_t *p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

std::string serialize(const google::protobuf::MessageLite &m) {
  std::string s;
  google::protobuf::io::StringOutputStream sos(&s);
  google::protobuf::io::CodedOutputStream cos(&sos);
  cos.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&cos);
  cos.Trim();
  return s;
}
} // namespace

namespace {
using Sink = std::function<bool(const uint8_t *, size_t)>;

/// Calls `f` on the weight pool in order, in chunks (zeros between pieces).
bool forEachWeightChunk(const ArtifactContents &c, const Sink &f) {
  if (c.weightPieces.empty())
    return c.weights.empty() || f(c.weights.data(), c.weights.size());
  static const uint8_t zeros[1 << 16] = {};
  auto fillZeros = [&](uint64_t n) {
    for (; n > 0; n -= std::min<uint64_t>(n, sizeof(zeros)))
      if (!f(zeros, size_t(std::min<uint64_t>(n, sizeof(zeros)))))
        return false;
    return true;
  };
  uint64_t at = 0;
  for (const WeightPiece &p : c.weightPieces) {
    if (!fillZeros(p.offset - at) || (p.size && !f(p.data, size_t(p.size))))
      return false;
    at = p.offset + p.size;
  }
  return fillZeros(c.weightsBytes - at);
}

Status checkPieces(const ArtifactContents &c) {
  uint64_t at = 0;
  for (const WeightPiece &p : c.weightPieces) {
    if (p.offset < at || p.offset + p.size > c.weightsBytes)
      return makeError("weight pieces overlap or lie outside the {}-byte pool", c.weightsBytes);
    at = p.offset + p.size;
  }
  return Status::success();
}

/// Writes the whole artifact through `out` in one pass: a placeholder
/// header, then each section while its CRC is computed on the way, then the
/// real header through `rewriteHead` (the weight pool of a large model is
/// read once, not once for the CRCs and again for the write).
Status writeTo(const ArtifactContents &c, const Sink &out,
               const std::function<bool(const std::vector<uint8_t> &)> &rewriteHead) {
  if (Status st = checkPieces(c); !st.ok())
    return st;
  std::string meta = serialize(c.metadata);
  std::string dbg = serialize(c.debug);
  struct Part {
    SectionKind kind;
    const uint8_t *data; ///< null: the weight pool
    uint64_t size;
    uint32_t crc;
  };
  Part parts[] = {
      {SectionKind::Metadata, reinterpret_cast<const uint8_t *>(meta.data()), meta.size(), 0},
      {SectionKind::Code, c.code.data(), c.code.size(), 0},
      {SectionKind::Weights, nullptr, c.poolSize(), 0},
      {SectionKind::Debug, reinterpret_cast<const uint8_t *>(dbg.data()), dbg.size(), 0},
  };
  const unsigned n = sizeof(parts) / sizeof(parts[0]);
  uint64_t off = alignUp(kArtifactHeaderBytes + n * kSectionEntryBytes, kSectionAlign);
  std::vector<uint64_t> offsets;
  for (Part &p : parts) {
    offsets.push_back(off);
    off = alignUp(off + p.size, kSectionAlign);
  }
  std::vector<uint8_t> head(offsets[0], 0);
  static const uint8_t pad[kSectionAlign] = {};
  bool ok = out(head.data(), head.size());
  for (unsigned i = 0; i < n && ok; ++i) {
    Part &p = parts[i];
    auto withCrc = [&](const uint8_t *d, size_t len) {
      p.crc = crc32(d, len, p.crc);
      return out(d, len);
    };
    ok = p.data ? (p.size == 0 || withCrc(p.data, p.size)) : forEachWeightChunk(c, withCrc);
    uint64_t end = offsets[i] + p.size;
    if (ok && alignUp(end, kSectionAlign) > end)
      ok = out(pad, size_t(alignUp(end, kSectionAlign) - end));
  }
  if (!ok)
    return makeError("{}", std::strerror(errno));
  std::memcpy(head.data(), kArtifactMagic, 8);
  put<uint16_t>(head, 8, kArtifactMajor);
  put<uint16_t>(head, 10, kArtifactMinor);
  put<uint32_t>(head, 12, n);
  put<uint64_t>(head, 16, kArtifactHeaderBytes);
  put<uint64_t>(head, 24, off);
  put<uint32_t>(head, 32, crc32(head.data(), 32));
  for (unsigned i = 0; i < n; ++i) {
    size_t e = kArtifactHeaderBytes + i * kSectionEntryBytes;
    put<uint32_t>(head, e, uint32_t(parts[i].kind));
    put<uint64_t>(head, e + 8, offsets[i]);
    put<uint64_t>(head, e + 16, parts[i].size);
    put<uint32_t>(head, e + 24, parts[i].crc);
  }
  return rewriteHead(head) ? Status::success() : makeError("{}", std::strerror(errno));
}
} // namespace

Expected<std::vector<uint8_t>> writeArtifact(const ArtifactContents &c) {
  std::vector<uint8_t> bytes;
  Status st = writeTo(
      c,
      [&](const uint8_t *d, size_t n) {
        bytes.insert(bytes.end(), d, d + n);
        return true;
      },
      [&](const std::vector<uint8_t> &head) {
        std::memcpy(bytes.data(), head.data(), head.size());
        return true;
      });
  if (!st.ok())
    return st;
  return bytes;
}

Status writeArtifactFile(const ArtifactContents &c, const std::string &path,
                         const std::function<void(uint64_t, uint64_t)> &progress) {
  // Write to a temporary name and rename, so a failed write never leaves a
  // truncated artifact behind under the requested name. The weight pool is
  // streamed from its pieces, never assembled in memory.
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out)
      return makeError("cannot open '{}' for writing: {}", tmp, std::strerror(errno));
    uint64_t written = 0, reported = 0, total = c.poolSize() + c.code.size();
    Status st = writeTo(
        c,
        [&](const uint8_t *d, size_t n) {
          out.write(reinterpret_cast<const char *>(d), std::streamsize(n));
          written += n;
          if (progress && written - reported >= (uint64_t(1) << 30)) {
            progress(written, total);
            reported = written;
          }
          return bool(out);
        },
        [&](const std::vector<uint8_t> &head) {
          out.seekp(0);
          out.write(reinterpret_cast<const char *>(head.data()), std::streamsize(head.size()));
          return bool(out);
        });
    out.close();
    if (!st.ok() || !out) {
      std::remove(tmp.c_str());
      return makeError("cannot write '{}': {}", tmp, st.ok() ? std::strerror(errno) : st.message());
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return makeError("cannot rename '{}' to '{}': {}", tmp, path, std::strerror(errno));
  return Status::success();
}

Artifact::~Artifact() {
  if (mapped_ && data_)
    munmap(const_cast<uint8_t *>(data_), size_);
}

Expected<std::shared_ptr<Artifact>> Artifact::load(const std::string &path, Options opts) {
  std::shared_ptr<Artifact> a(new Artifact());
  Status s = a->parse(path, opts);
  if (!s.ok())
    return s;
  return a;
}

int Artifact::findFunction(const std::string &name) const {
  for (int i = 0; i < metadata_.functions_size(); ++i)
    if (metadata_.functions(i).name() == name)
      return i;
  return -1;
}

std::string Artifact::location(unsigned func, unsigned inst) const {
  for (const auto &fd : debug_.functions()) {
    if (fd.name() != metadata_.functions(func).name())
      continue;
    if (inst < unsigned(fd.inst_location_size()) &&
        fd.inst_location(inst) < unsigned(fd.locations_size()))
      return fd.locations(fd.inst_location(inst));
  }
  return "";
}

Status Artifact::parse(const std::string &path, Options opts) {
  struct stat st;
  std::string err;
  int fd = openRegularFile(path, st, err);
  if (fd < 0)
    return Status::error(err);
  size_ = uint64_t(st.st_size);
  if (size_ > 0) {
    void *p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      return makeError("cannot map '{}': {}", path, std::strerror(errno));
    }
    data_ = static_cast<const uint8_t *>(p);
    mapped_ = true;
  }
  ::close(fd);

  auto fail = [&](std::string msg) { return makeError("'{}' is not a valid .rbln artifact: {}", path, msg); };
  if (size_ < kArtifactHeaderBytes)
    return fail(fmt::format("file is {} bytes, shorter than the {}-byte header", size_,
                            kArtifactHeaderBytes));
  if (std::memcmp(data_, kArtifactMagic, 8) != 0)
    return fail("bad magic (not an rbln artifact)");
  major_ = get<uint16_t>(data_ + 8);
  minor_ = get<uint16_t>(data_ + 10);
  if (major_ != kArtifactMajor || minor_ > kArtifactMinor)
    return fail(fmt::format("format version {}.{} is not supported by this runtime (reads {}.0 to {}.{})",
                            major_, minor_, kArtifactMajor, kArtifactMajor, kArtifactMinor));
  if (get<uint32_t>(data_ + 32) != crc32(data_, 32))
    return fail("header checksum mismatch");
  uint32_t n = get<uint32_t>(data_ + 12);
  uint64_t tableOff = get<uint64_t>(data_ + 16);
  uint64_t declared = get<uint64_t>(data_ + 24);
  if (declared != size_)
    return fail(fmt::format("header says {} bytes but the file has {} (truncated or padded)",
                            declared, size_));
  if (n > 64 || tableOff > size_ || (size_ - tableOff) / kSectionEntryBytes < n)
    return fail("section table out of bounds");
  const uint8_t *weightsPtr = nullptr;
  const uint8_t *codePtr = nullptr;
  uint64_t codeSize = 0;
  bool haveMeta = false, haveCode = false, haveWeights = false;
  for (uint32_t i = 0; i < n; ++i) {
    const uint8_t *e = data_ + tableOff + i * kSectionEntryBytes;
    SectionInfo s{SectionKind(get<uint32_t>(e)), get<uint64_t>(e + 8), get<uint64_t>(e + 16),
                  get<uint32_t>(e + 24)};
    if (s.offset > size_ || s.size > size_ - s.offset)
      return fail(fmt::format("section {} ({}) lies outside the file", i, sectionName(s.kind)));
    bool isWeights = s.kind == SectionKind::Weights;
    if ((!isWeights || opts.verifyWeightsChecksum) && crc32(data_ + s.offset, s.size) != s.crc)
      return fail(fmt::format("checksum mismatch in the {} section (corrupt file)",
                              sectionName(s.kind)));
    const uint8_t *p = data_ + s.offset;
    switch (s.kind) {
    case SectionKind::Metadata:
      if (!metadata_.ParseFromArray(p, int(s.size)))
        return fail("metadata section does not parse");
      haveMeta = true;
      break;
    case SectionKind::Debug:
      if (!debug_.ParseFromArray(p, int(s.size)))
        return fail("debug section does not parse");
      break;
    case SectionKind::Code:
      codePtr = p, codeSize = s.size, haveCode = true;
      break;
    case SectionKind::Weights:
      weightsPtr = p, weightsSize_ = s.size, haveWeights = true;
      break;
    default:
      return fail(fmt::format("unknown section kind {}", uint32_t(s.kind)));
    }
    sections_.push_back(s);
  }
  if (!haveMeta || !haveCode || !haveWeights)
    return fail("a required section (metadata, code, weights) is missing");
  weights_ = weightsPtr;
  if (metadata_.weights_bytes() != weightsSize_)
    return fail(fmt::format("metadata says {} weight bytes, the weights section has {}",
                            metadata_.weights_bytes(), weightsSize_));
  RBLN_RETURN_IF_ERROR(validateTarget(metadata_.target()));
  if (codeSize % isa::kWordBytes != 0)
    return fail("code section size is not a multiple of the instruction size");
  uint64_t numWords = codeSize / isa::kWordBytes;
  // Each function owns its range of the code section: ranges may not
  // overlap, so decoding and validating every function reads each
  // instruction word at most once (200,000 functions sharing one range
  // would otherwise ask for ~100 GB of decoded code).
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const proto::Function &fn : metadata_.functions()) {
    if (fn.code_offset() > numWords || fn.num_insts() > numWords - fn.code_offset())
      return fail(fmt::format("function '{}' code range lies outside the code section", fn.name()));
    if (fn.num_insts() > 0)
      ranges.push_back({fn.code_offset(), fn.code_offset() + fn.num_insts()});
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second)
      return fail(fmt::format("two functions share instructions {}..{} of the code section "
                              "(each function must own its code range)",
                              ranges[i].first, std::min(ranges[i].second, ranges[i - 1].second) - 1));
  for (const proto::Function &fn : metadata_.functions()) {
    std::vector<isa::Inst> insts;
    insts.reserve(fn.num_insts());
    for (uint64_t i = 0; i < fn.num_insts(); ++i) {
      auto inst = isa::decode(codePtr + (fn.code_offset() + i) * isa::kWordBytes,
                              minor_ <= 3 ? isa::kLegacyDTypeBits : 64);
      if (!inst.ok())
        return fail(fmt::format("function '{}' instruction {}: {}", fn.name(), i, inst.error()));
      insts.push_back(*inst);
    }
    Status v = validateFunctionCode(fn, insts, metadata_.target());
    if (!v.ok())
      return fail(v.message());
    code_.push_back(std::move(insts));
  }
  return Status::success();
}

Status validateFunctionCode(const proto::Function &fn, const std::vector<isa::Inst> &code,
                            const proto::TargetDesc &t) {
  using namespace isa;
  // Bounds that keep every address computation far from overflow: element
  // counts, strides and the bytes a descriptor spans on either side are at
  // most 2^40, each computed with checked arithmetic.
  constexpr int64_t kMaxExtent = int64_t(kMaxTensorElements);
  for (int di = 0; di < fn.dma_descs_size(); ++di) {
    const proto::DmaDesc &d = fn.dma_descs(di);
    if (d.sizes_size() < 1 || d.sizes_size() > 4 || d.src_strides_size() != d.sizes_size() ||
        d.dst_strides_size() != d.sizes_size())
      return makeError("function '{}': DMA descriptor {} needs 1 to 4 dims with matching strides",
                       fn.name(), di);
    if (unsigned(d.src_dtype()) >= kNumDTypes || unsigned(d.dst_dtype()) >= kNumDTypes)
      return makeError("function '{}': DMA descriptor {} has an unknown element type", fn.name(), di);
    // 4-bit elements move a row at a time from a dense source: widened, or
    // copied as they are into whole bytes (every row at an even element
    // offset, of an even length).
    if (bool ps = dtypeIsPacked(DType(d.src_dtype())), pd = dtypeIsPacked(DType(d.dst_dtype())); ps || pd) {
      int last = d.sizes_size() - 1;
      bool ok = last >= 0 && d.src_strides(last) == 1 && (!pd || ps);
      if (ok && pd) {
        ok = d.dst_strides(last) == 1 && d.sizes(last) % 2 == 0;
        for (int i = 0; ok && i < last; ++i)
          ok = d.src_strides(i) % 2 == 0 && d.dst_strides(i) % 2 == 0;
      }
      if (!ok)
        return makeError("function '{}': DMA descriptor {} moves 4-bit elements other than dense rows "
                         "(widened, or copied whole bytes at a time)", fn.name(), di);
    }
    if (d.no_saturate() && !dtypeIsFloat8(DType(d.dst_dtype())))
      return makeError("function '{}': DMA descriptor {} is non-saturating but does not convert to an "
                       "8-bit float", fn.name(), di);
    for (int i = 0; i < d.sizes_size(); ++i)
      if (d.sizes(i) < 0 || d.sizes(i) > kMaxExtent || d.src_strides(i) < 0 ||
          d.src_strides(i) > kMaxExtent || d.dst_strides(i) < 0 || d.dst_strides(i) > kMaxExtent)
        return makeError("function '{}': DMA descriptor {} sizes and strides must be in 0..2^40",
                         fn.name(), di);
    if (!checkedProduct(d.sizes(), kMaxTensorElements))
      return makeError("function '{}': DMA descriptor {} moves more than 2^40 elements", fn.name(), di);
    if (*checkedProduct(d.sizes()) == 0)
      continue;
    // The destination is written injectively: with its dims in increasing
    // stride order, each stride passes everything the inner dims span. (A
    // destination that overlaps itself, e.g. stride 0, would let one command
    // move 2^40 elements into a few bytes: unbounded work for nothing.)
    {
      std::vector<std::pair<int64_t, int64_t>> dims; // (stride, size)
      for (int i = 0; i < d.sizes_size(); ++i)
        if (d.sizes(i) > 1)
          dims.push_back({d.dst_strides(i), d.sizes(i)});
      std::sort(dims.begin(), dims.end());
      int64_t span = 1; // elements the inner dims cover
      for (auto [stride, size] : dims) {
        if (stride < span)
          return makeError("function '{}': DMA descriptor {} writes some destination elements more "
                           "than once (destination strides overlap)", fn.name(), di);
        Checked<int64_t> next = Checked<int64_t>(stride) * (size - 1) + span;
        if (!next.within(kMaxExtent))
          return makeError("function '{}': DMA descriptor {} spans more than 2^40 bytes (sizes x "
                           "strides)", fn.name(), di);
        span = next.value();
      }
    }
    // Bytes spanned on each side: (the last element's offset + 1) x size.
    for (auto [strides, dtype] : {std::pair{&d.src_strides(), d.src_dtype()},
                                  std::pair{&d.dst_strides(), d.dst_dtype()}}) {
      Checked<uint64_t> last = 0;
      for (int i = 0; i < d.sizes_size(); ++i)
        last += Checked<uint64_t>(d.sizes(i) - 1) * (*strides)[i];
      if (!((last + 1) * dtypeSize(DType(dtype))).within(uint64_t(kMaxExtent))) // (a 4-bit element counted whole)
        return makeError("function '{}': DMA descriptor {} spans more than 2^40 bytes (sizes x "
                         "strides)", fn.name(), di);
    }
  }
  for (const auto *list : {&fn.inputs(), &fn.outputs()})
    for (const proto::TensorSig &s : *list) {
      if (unsigned(s.dtype()) >= kNumDTypes || dtypeIsPacked(DType(s.dtype())))
        return makeError("function '{}': tensor '{}' has an unknown element type", fn.name(), s.name());
      if (s.state() && (list != &fn.inputs() || s.shape_size() != 4 || s.shape(0) != -1))
        return makeError("function '{}': state tensor '{}' must be an input of shape "
                         "[-1, heads, block size, head dim]", fn.name(), s.name());
      // (a state tensor's leading dim is the number of KV blocks, chosen at load)
      Checked<uint64_t> n = 1;
      for (int i = s.state() ? 1 : 0; i < s.shape_size(); ++i)
        n *= s.shape(i);
      if (!n.within(kMaxTensorElements))
        return makeError("function '{}': tensor '{}' has an invalid shape (negative dims or "
                         "more than 2^40 elements)", fn.name(), s.name());
    }
  if (fn.scratch_bytes() > uint64_t(kMaxExtent))
    return makeError("function '{}': scratch arena of {} bytes is implausible", fn.name(),
                     fn.scratch_bytes());
  for (size_t i = 0; i < code.size(); ++i) {
    const Inst &in = code[i];
    const InstSpec &s = in.spec();
    auto err = [&](std::string m) {
      return makeError("function '{}' instruction {} ({}): {}", fn.name(), i, s.mnemonic, m);
    };
    unsigned units = 1;
    switch (s.unit) {
    case Unit::Cp: units = 1; break;
    case Unit::TaskDma: units = t.num_task_dma(); break;
    case Unit::NeuralDma: units = t.num_ne() * t.neural_dma_queues_per_ne(); break;
    case Unit::Tensor: case Unit::Vector: units = t.num_ne(); break;
    }
    if (in.unit >= units)
      return err(fmt::format("unit {} does not exist on target '{}' ({} units)", in.unit,
                             t.name(), units));
    for (const WaitCond &w : in.wait)
      if (w.active() && w.sem >= t.cp().num_semaphores())
        return err(fmt::format("semaphore s{} does not exist", w.sem));
    if (in.signal != kNoSem && in.signal >= t.cp().num_semaphores())
      return err(fmt::format("semaphore s{} does not exist", in.signal));
    switch (in.op) {
    case Opcode::Blt: case Opcode::Bge: case Opcode::Beq: case Opcode::Bne:
      if (uint64_t(in[fld::Blt::target]) >= code.size())
        return err("branch target outside the function");
      break;
    case Opcode::Jmp:
      if (uint64_t(in[fld::Jmp::target]) >= code.size())
        return err("jump target outside the function");
      break;
    case Opcode::DmaTask: case Opcode::DmaNeural:
      if (in[fld::DmaTask::desc] >= fn.dma_descs_size())
        return err(fmt::format("DMA descriptor {} does not exist", in[fld::DmaTask::desc]));
      break;
    case Opcode::Mm: {
      // A float `in`, or the integer mode's u8/i8; a narrower B (bt) only
      // under a float `in`: int8, int4 (rows of whole bytes) or an 8-bit
      // float.
      // (bt f32 in a word older than 1.6: B of `in`)
      // (FP8 operands, A and B alike: the target's FP8 mode, when it has one)
      DType a = DType(in[fld::Mm::in]), b = DType(in[fld::Mm::bt]);
      bool floatIn = a == DType::F32 || a == DType::F16 || a == DType::BF16;
      if ((a == DType::F8E4M3FN || a == DType::F8E5M2) && t.tensor().fp8_macs_per_pe() > 0) {
        if (b != DType::F32 && b != a)
          return err(fmt::format("the FP8 mode reads B as {}, not {}", dtypeName(a), dtypeName(b)));
        break;
      }
      if (!floatIn && a != DType::I8 && a != DType::U8)
        return err(fmt::format("the tensor engine of target '{}' does not read {} operands", t.name(),
                               dtypeName(a)));
      bool bOk = b == DType::F32 || (floatIn ? b == a || b == DType::I8 || b == DType::I4 || dtypeIsFloat8(b)
                                             : b == DType::I8);
      if (!bOk)
        return err(fmt::format("the tensor engine does not read a {} B with {} A", dtypeName(b),
                               dtypeName(a)));
      if (b == DType::I4 && (in[fld::Mm::tb] ? in[fld::Mm::k] : in[fld::Mm::n]) % 2 != 0)
        return err("an int4 B's rows must have an even length (whole bytes)");
      break;
    }
    case Opcode::VCast:
      if (dtypeIsPacked(DType(in[fld::VCast::from])) || dtypeIsPacked(DType(in[fld::VCast::to])))
        return err("the vector engine does not convert 4-bit elements");
      break;
    default:
      break;
    }
  }
  return Status::success();
}

} // namespace rbln
