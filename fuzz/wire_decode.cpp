// Fuzzes wire::decode, the decoder of every peer message (the input is one frame's payload;
// the seeds hold one real frame of each type, from wire::encode). Beyond not crashing: what
// decodes must encode to a frame that decodes to the same message (the encoding is a fixed
// point after one round), under the frame limit, with the same type name; and decode()'s fast
// path for chat frames reads exactly what the general decoder reads.
#include <string>

#include "common/wire/messages.hpp"
#include "fuzz/input.hpp"

using namespace p2pchat;

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const payload(reinterpret_cast<char const*>(data), size);
    auto decoded = wire::decode(payload);
    auto const general = wire::decode_any_layout(payload);
    FUZZ_CHECK(decoded.has_value() == general.has_value());
    if (decoded) {
        FUZZ_CHECK(wire::encode(*decoded) == wire::encode(*general));
    } else {
        FUZZ_CHECK(decoded.error() == general.error());
    }
    if (!decoded) {
        auto const e = decoded.error();
        FUZZ_CHECK(e.category() == wire::decode_category() && !e.message().empty());
        return 0;
    }
    std::string const encoded = wire::encode(*decoded);
    // Every field is required and unknown ones are dropped, so re-encoding cannot make a
    // frame much larger than the one that arrived (a node relays what it decoded).
    FUZZ_CHECK(encoded.size() <= std::max<std::size_t>(payload.size(), 64) * 2);
    auto again = wire::decode(encoded);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(wire::type_name(*again) == wire::type_name(*decoded));
    FUZZ_CHECK(wire::encode(*again) == encoded);
    return 0;
}
