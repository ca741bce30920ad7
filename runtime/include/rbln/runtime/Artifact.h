//===- Artifact.h - The .rbln container -------------------------*- C++ -*-===//
//
// Layout (all integers little-endian):
//   header (64 bytes): magic "RBLNNPU\0", u16 major, u16 minor, u32 section
//     count, u64 section-table offset, u64 file size, u32 CRC-32 of bytes
//     0..31, zero padding.
//   section table: per section 32 bytes: u32 kind, u32 flags (0), u64 offset,
//     u64 size, u32 CRC-32 of the contents, u32 zero.
//   sections, each 64-byte aligned: metadata (protobuf rbln.proto.Metadata),
//     code (32-byte instruction words of every function), weights (one pool
//     shared by all functions, mmap-able), debug (rbln.proto.DebugInfo).
// A reader loads the same major version and any minor version up to its own.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "artifact.pb.h"
#include "rbln/runtime/Error.h"
#include "rbln/runtime/Isa.h"

#include <cstdint>
#include <memory>
#include <string>
#include <deque>
#include <functional>
#include <vector>

namespace rbln {

constexpr char kArtifactMagic[8] = {'R', 'B', 'L', 'N', 'N', 'P', 'U', '\0'};
constexpr uint16_t kArtifactMajor = 1;
/// 1.1: `div`, `v.mask_upper`'s register/flat/lower fields, state inputs,
/// LLM configuration (generation artifacts). 1.2: `v.round`. 1.3: the
/// embedded target gives the tensor rate per PE (shape and clock), DRAM
/// timing and semaphore/barrier latency. 1.4: the 8-bit float types (DType
/// fields of `mm` and `v.cast` widen from 3 to 4 bits). 1.5: int4 (i4) DMA
/// sources and non-saturating DMA conversions to 8-bit floats (a 1.4
/// runtime would saturate them silently). 1.6: `mm`'s `bt` (a narrower B
/// the tensor engine widens: int8, int4 or 8-bit float weights in SPM),
/// int4 copies into SPM and `mm` on FP8 operands (the target's FP8 mode);
/// older words leave `bt` 0 (B of type `in`). Older
/// minor versions still load (their targets' rates per cycle, without the
/// newer terms; their instruction words in the 3-bit layout).
constexpr uint16_t kArtifactMinor = 6;
constexpr unsigned kArtifactHeaderBytes = 64;
constexpr unsigned kSectionEntryBytes = 32;
constexpr unsigned kSectionAlign = 64;

enum class SectionKind : uint32_t { Metadata = 1, Code = 2, Weights = 3, Debug = 4 };
const char *sectionName(SectionKind k);

uint32_t crc32(const uint8_t *data, size_t size, uint32_t crc = 0);

/// `size` bytes of the weight pool at pool offset `offset`, held elsewhere
/// (a memory-mapped external-data file, a compiler constant).
struct WeightPiece {
  uint64_t offset;
  const uint8_t *data;
  uint64_t size;
};

/// Everything the compiler hands to the writer.
struct ArtifactContents {
  proto::Metadata metadata;
  std::vector<uint8_t> code;    ///< encoded words, functions back to back
  std::vector<uint8_t> weights; ///< the weight pool, when assembled in memory
  /// Or the pool as pieces (sorted by offset, not overlapping; zeros between)
  /// of a `weightsBytes`-byte pool. The file writer streams them, so a pool
  /// of mapped external data is never copied whole into memory.
  std::vector<WeightPiece> weightPieces;
  uint64_t weightsBytes = 0;
  std::deque<std::vector<uint8_t>> ownedPieces; ///< storage of pieces made by the writer's caller
  proto::DebugInfo debug;
  uint64_t poolSize() const { return weightPieces.empty() ? weights.size() : weightsBytes; }
};

/// Serializes deterministically: the same contents give the same bytes.
Expected<std::vector<uint8_t>> writeArtifact(const ArtifactContents &contents);
/// `progress`, if set, is called with (bytes written, total bytes) about
/// every GiB (the weight pool of a large model is tens of GB).
Status writeArtifactFile(const ArtifactContents &contents, const std::string &path,
                         const std::function<void(uint64_t, uint64_t)> &progress = {});

struct SectionInfo {
  SectionKind kind;
  uint64_t offset, size;
  uint32_t crc;
};

/// A loaded, validated artifact. Weights stay in the mapped file.
class Artifact {
public:
  struct Options {
    bool verifyWeightsChecksum = true;
  };
  static Expected<std::shared_ptr<Artifact>> load(const std::string &path, Options opts);
  static Expected<std::shared_ptr<Artifact>> load(const std::string &path) {
    return load(path, Options{});
  }
  ~Artifact();

  const proto::Metadata &metadata() const { return metadata_; }
  const proto::DebugInfo &debug() const { return debug_; }
  const std::vector<SectionInfo> &sections() const { return sections_; }
  uint16_t major() const { return major_; }
  uint16_t minor() const { return minor_; }
  uint64_t fileSize() const { return size_; }
  const uint8_t *weights() const { return weights_; }
  uint64_t weightsSize() const { return weightsSize_; }
  /// Decoded instructions of function `i`.
  const std::vector<isa::Inst> &code(unsigned i) const { return code_[i]; }
  int findFunction(const std::string &name) const;
  /// The ONNX node an instruction came from, or "".
  std::string location(unsigned func, unsigned inst) const;

private:
  Artifact() = default;
  Status parse(const std::string &path, Options opts);
  const uint8_t *data_ = nullptr;
  uint64_t size_ = 0;
  bool mapped_ = false;
  std::vector<uint8_t> owned_;
  uint16_t major_ = 0, minor_ = 0;
  std::vector<SectionInfo> sections_;
  proto::Metadata metadata_;
  proto::DebugInfo debug_;
  const uint8_t *weights_ = nullptr;
  uint64_t weightsSize_ = 0;
  std::vector<std::vector<isa::Inst>> code_;
};

/// Checks that a function's instructions only name units, semaphores,
/// registers, descriptors and branch targets that exist on `target`.
Status validateFunctionCode(const proto::Function &fn, const std::vector<isa::Inst> &code,
                            const proto::TargetDesc &target);

} // namespace rbln
