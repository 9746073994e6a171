#pragma once
// The whole public API of audioengine in one include.

#include "audioengine/clock.hpp"
#include "audioengine/config.hpp"
#include "audioengine/conversation.hpp"
#include "audioengine/engine.hpp"
#include "audioengine/events.hpp"
#include "audioengine/format.hpp"
#include "audioengine/format_converter.hpp"
#include "audioengine/metrics.hpp"
#include "audioengine/playback_queue.hpp"
#include "audioengine/realtime.hpp"
#include "audioengine/resampler.hpp"
#include "audioengine/result.hpp"
#include "audioengine/spsc_ring.hpp"
#include "audioengine/stream_buffer.hpp"
#include "audioengine/vad.hpp"
#include "audioengine/version.hpp"
