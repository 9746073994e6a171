#include "audioengine/playback_queue.hpp"

#include <algorithm>

namespace ae {

PlaybackQueue::PlaybackQueue(size_t capacity_samples, size_t max_items)
    : samples_(capacity_samples), marks_(max_items) {}

size_t PlaybackQueue::write_available() noexcept { return samples_.write_available(); }

size_t PlaybackQueue::try_write(const float* samples, size_t num_samples, uint64_t item_id, int32_t tag) noexcept {
  if (num_samples == 0) return 0;
  if (!producer_has_item_ || item_id != producer_item_ || tag != producer_tag_) {
    // The mark goes first: by the time the consumer sees the samples it has seen where the item begins.
    if (!marks_.try_push(ItemMark{item_id, samples_.total_pushed(), tag})) return 0;
    producer_item_ = item_id;
    producer_tag_ = tag;
    producer_has_item_ = true;
  }
  return samples_.try_push_bulk(samples, num_samples);
}

uint64_t PlaybackQueue::request_flush() noexcept {
  const uint64_t to = samples_.total_pushed();
  uint64_t prev = flush_to_.load(std::memory_order_relaxed);
  while (prev < to && !flush_to_.compare_exchange_weak(prev, to, std::memory_order_relaxed)) {
  }
  // The epoch's release publishes flush_to_: the consumer that sees the new epoch sees it too.
  requests_.request();
  return to;
}

void PlaybackQueue::request_discard_oldest(uint64_t num_samples) noexcept {
  discard_oldest_.fetch_add(num_samples, std::memory_order_relaxed);
  requests_.request();
}

void PlaybackQueue::drop_marks_through(uint64_t position) noexcept {
  // Marks up to `position` are obsolete; the last of them names the item that continues there.
  if (has_starting_ && starting_.start_position <= position) {
    consumer_item_ = starting_.item_id;
    consumer_tag_ = starting_.tag;
    consumer_start_ = starting_.start_position;
    has_starting_ = false;
  }
  while (const ItemMark* m = marks_.peek()) {
    if (m->start_position > position) break;
    consumer_item_ = m->item_id;
    consumer_tag_ = m->tag;
    consumer_start_ = m->start_position;
    ItemMark dropped{};
    marks_.try_pop(dropped);
  }
}

void PlaybackQueue::take_marks_through(uint64_t position) noexcept {
  while (const ItemMark* m = marks_.peek()) {
    if (m->start_position > position) break;
    starting_ = *m;
    has_starting_ = true;
    ItemMark taken{};
    marks_.try_pop(taken);
  }
}

size_t PlaybackQueue::head_run(ItemMark& head, bool& starts) noexcept {
  // Samples first: a mark is published before its samples, so once samples are visible their mark is too.
  const size_t available = samples_.read_available();
  if (available == 0) return 0;
  const uint64_t r = samples_.total_popped();
  take_marks_through(r);
  starts = has_starting_;
  head = has_starting_ ? starting_ : ItemMark{consumer_item_, consumer_start_, consumer_tag_};
  uint64_t run = available;
  if (const ItemMark* next = marks_.peek()) run = std::min<uint64_t>(run, next->start_position - r);
  return static_cast<size_t>(run);
}

PlaybackQueue::FlushOutcome PlaybackQueue::apply_pending_requests() noexcept {
  FlushOutcome out;
  if (!requests_.consume(seen_epoch_)) return out;
  const uint64_t r = samples_.total_popped();
  const uint64_t to = flush_to_.load(std::memory_order_relaxed);
  if (to > r) {
    out.flushed = true;
    out.discarded_samples = samples_.discard(static_cast<size_t>(to - r));
  }
  const uint64_t discard_total = discard_oldest_.load(std::memory_order_relaxed);
  if (discard_total > discard_seen_) {
    out.discarded_samples += samples_.discard(static_cast<size_t>(discard_total - discard_seen_));
    discard_seen_ = discard_total;
  }
  // Keep the marks of items that still have samples; the item at the new read position becomes current. A mark
  // exactly at the read position stays queued so that pull() reports that item's start.
  const uint64_t pos = samples_.total_popped();
  if (pos > 0) drop_marks_through(pos - 1);
  return out;
}

size_t PlaybackQueue::begin_take(size_t max_samples, uint64_t& item_id, bool& item_started) noexcept {
  item_started = false;
  item_id = consumer_item_;
  // Samples first: a mark is published before its samples, so once samples are visible their mark is too.
  const size_t available = samples_.read_available();
  if (available == 0) return 0;
  const uint64_t r = samples_.total_popped();
  size_t limit = std::min(max_samples, available);
  // Of several marks at the read position, the last names the item: the others got no samples. Mostly the next
  // mark lies ahead (or there is none): one look at it then.
  const ItemMark* next = marks_.peek();
  if (next != nullptr && next->start_position <= r) {
    take_marks_through(r);
    next = marks_.peek();
  }
  if (has_starting_) {
    consumer_item_ = starting_.item_id;
    consumer_tag_ = starting_.tag;
    consumer_start_ = starting_.start_position;
    has_starting_ = false;
    item_started = true;
  }
  if (next != nullptr) limit = static_cast<size_t>(std::min<uint64_t>(limit, next->start_position - r));
  item_id = consumer_item_;
  return limit;
}

size_t PlaybackQueue::pull(float* dst, size_t max_samples, uint64_t& item_id, bool& item_started) noexcept {
  const size_t limit = begin_take(max_samples, item_id, item_started);
  return limit == 0 ? 0 : samples_.try_pop_bulk(dst, limit);
}

size_t PlaybackQueue::consume(size_t max_samples, uint64_t& item_id, bool& item_started) noexcept {
  const size_t limit = begin_take(max_samples, item_id, item_started);
  return limit == 0 ? 0 : samples_.discard(limit);
}

uint64_t PlaybackQueue::discard_all() noexcept {
  const uint64_t n = samples_.discard_all();
  const uint64_t pos = samples_.total_popped();
  if (pos > 0) drop_marks_through(pos - 1);
  return n;
}

}  // namespace ae
