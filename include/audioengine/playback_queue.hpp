#pragma once
// PlaybackQueue: the AI's audio waiting to be played, with item boundaries and an atomic flush.
//
// Samples are mono float at the engine rate in an SpscRing; item marks (item id, a tag the owner gives the item
// and the absolute position of the item's first sample) travel in a second SpscRing, pushed before the samples they describe, so the consumer
// always knows which item each sample belongs to. Positions are absolute sample counts since construction.
//
// Flush: the producer side records "discard everything up to position P" (P = what it has written so far) and
// bumps an epoch with release ordering; the consumer (the audio thread) checks the epoch at each tick boundary
// with acquire ordering and discards up to P. Audio written after the flush request lies beyond P and survives.
// The consumer never waits for the producer nor the other way round.
//
// Thread: one producer at a time (AudioEngine serialises its own callers; a user writing here directly must be
// the only producer and not call queue_playback concurrently) and the audio thread as consumer.

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "audioengine/flush_epoch.hpp"
#include "audioengine/spsc_ring.hpp"

namespace ae {

class PlaybackQueue {
 public:
  struct ItemMark {
    uint64_t item_id;
    uint64_t start_position;
    int32_t tag;  // the owner's label for the item (AudioEngine: its PlaybackPriority); 0 unless given
  };

  // Allocates. Thread: control. RT-safe: no.
  PlaybackQueue(size_t capacity_samples, size_t max_items);

  size_t capacity_samples() const noexcept { return samples_.capacity(); }
  size_t memory_bytes() const noexcept { return samples_.memory_bytes() + marks_.memory_bytes(); }

  // ---- producer ------------------------------------------------------------------------------------------
  // Room for this many samples. Thread: producer. RT-safe: yes.
  size_t write_available() noexcept;
  // Appends up to `num_samples` samples of item `item_id` labelled `tag`; returns how many fit. A change of item
  // id or tag starts a new item (a mark is pushed first); 0 when the marks ring is full too.
  // Thread: producer. RT-safe: yes.
  size_t try_write(const float* samples, size_t num_samples, uint64_t item_id, int32_t tag = 0) noexcept;
  // Asks the consumer to discard everything written so far, at its next tick boundary. Returns the position up
  // to which it will discard. Thread: producer. RT-safe: yes.
  uint64_t request_flush() noexcept;
  // Asks the consumer to discard the oldest `num_samples` (beyond any flush). Thread: producer. RT-safe: yes.
  void request_discard_oldest(uint64_t num_samples) noexcept;
  uint64_t write_position() const noexcept { return samples_.total_pushed(); }
  uint64_t last_written_item() const noexcept { return producer_item_; }

  // ---- consumer (audio thread) ---------------------------------------------------------------------------
  struct FlushOutcome {
    bool flushed = false;          // a flush request was pending
    uint64_t discarded_samples = 0;
  };
  // Applies pending flush / discard requests. Thread: consumer. RT-safe: yes.
  FlushOutcome apply_requests() noexcept {
    // Inline: the tick calls this for every queue, and mostly nothing is pending (one load and a compare).
    if (requests_.epoch() == seen_epoch_) return FlushOutcome{};
    return apply_pending_requests();
  }
  // Copies up to `max_samples` samples of ONE item into `dst` and consumes them; returns the count (0 when
  // empty) and sets `item_id` / `item_started` (this call delivered the item's first sample).
  // Thread: consumer. RT-safe: yes.
  size_t pull(float* dst, size_t max_samples, uint64_t& item_id, bool& item_started) noexcept;
  // Consumes `count` samples when all of them are queued and belong to the item the last one taken belonged to
  // (no item starts among them, so pull() would report no start and the same item); otherwise consumes nothing
  // and returns false. The tick's commit takes this shortcut for the common block, one item playing on.
  // Thread: consumer. RT-safe: yes.
  bool consume_within_item(size_t count) noexcept {
    if (has_starting_ || samples_.read_available() < count) return false;
    if (const ItemMark* next = marks_.peek(); next != nullptr && next->start_position < samples_.total_popped() + count) {
      return false;
    }
    samples_.discard(count);
    return true;
  }
  // Consumes exactly what pull() would, with the same count, `item_id` and `item_started`, but copies nothing:
  // for a consumer that already holds these samples from peek() (the tick commits its peeked block this way, so
  // the block is copied out of the ring once). Thread: consumer. RT-safe: yes.
  size_t consume(size_t max_samples, uint64_t& item_id, bool& item_started) noexcept;
  // Peek / commit: copies up to `max_samples` of the oldest queued samples into `dst` without consuming them and
  // returns the count; a later pull() limited to that count (the commit) consumes exactly those samples unless a
  // flush or discard ran in between. The tick peeks its block so that the render stage and the echo canceller
  // see it before the barge-in decision, which may still flush it. Thread: consumer. RT-safe: yes.
  size_t peek(float* dst, size_t max_samples) noexcept { return samples_.peek_bulk(dst, max_samples); }
  // The item the next queued sample belongs to: sets `head` (its id, tag and first position) and `starts` (that
  // sample is the item's first, so the item before it ended) and returns how many of its samples are queued
  // before the next item begins; 0 (head and starts untouched) when nothing is queued. Consumes nothing.
  // Thread: consumer. RT-safe: yes.
  size_t head_run(ItemMark& head, bool& starts) noexcept;
  // Discards everything published so far (used by the audio thread itself on barge-in).
  uint64_t discard_all() noexcept;
  uint64_t read_position() const noexcept { return samples_.total_popped(); }
  uint64_t current_item() const noexcept { return consumer_item_; }

  // ---- any thread ----------------------------------------------------------------------------------------
  size_t queued_samples() const noexcept { return samples_.size(); }

 private:
  FlushOutcome apply_pending_requests() noexcept;
  void drop_marks_through(uint64_t position) noexcept;
  // Moves the marks of items that begin at or before `position` out of the ring into starting_ (the last one
  // wins: the earlier ones got no samples).
  void take_marks_through(uint64_t position) noexcept;
  // pull() and consume() up to the copy: sets `item_id` / `item_started` and returns how many samples of one
  // item may be taken now (0 when empty).
  size_t begin_take(size_t max_samples, uint64_t& item_id, bool& item_started) noexcept;

  SpscRing<float> samples_;
  SpscRing<ItemMark> marks_;
  // Producer-side state.
  uint64_t producer_item_ = 0;
  int32_t producer_tag_ = 0;
  bool producer_has_item_ = false;
  // Requests, producer → consumer.
  std::atomic<uint64_t> flush_to_{0};
  std::atomic<uint64_t> discard_oldest_{0};
  FlushEpoch requests_;
  // Consumer-side state.
  uint64_t seen_epoch_ = 0;
  uint64_t consumer_item_ = 0;
  int32_t consumer_tag_ = 0;
  uint64_t consumer_start_ = 0;
  // An item whose first sample is the next one to be read, taken off the marks ring by head_run() or pull().
  ItemMark starting_{};
  bool has_starting_ = false;
  uint64_t discard_seen_ = 0;
};

}  // namespace ae
