// The public single-sample G.711 codecs; the codecs themselves are in g711_codec.hpp.

#include "audioengine/format.hpp"

#include "core/g711_codec.hpp"

namespace ae {

uint8_t linear_to_ulaw(int16_t sample) noexcept { return g711::encode_ulaw(sample); }
int16_t ulaw_to_linear(uint8_t code) noexcept { return g711::decode_ulaw(code); }
uint8_t linear_to_alaw(int16_t sample) noexcept { return g711::encode_alaw(sample); }
int16_t alaw_to_linear(uint8_t code) noexcept { return g711::decode_alaw(code); }

}  // namespace ae
