// Fuzzes wire::frame_decoder: a byte stream cut into random chunks must give the same frames,
// the same error and the same leftover as a plain reference reading of the whole stream, and
// every frame must survive encode_frame() and a second decoder.
//
// Input: u8 limit choice, u64 chunking seed, then the stream itself.
#include "common/wire/frame_decoder.hpp"

#include <string>
#include <vector>

#include "fuzz/input.hpp"

namespace {

using namespace p2pchat;

struct reference_result {
    std::vector<std::string> frames;
    wire::frame_error error = wire::frame_error::none;
    std::size_t consumed = 0;
};

// The framing of docs/PROTOCOL.md, read the simplest way.
reference_result reference(std::string_view s, std::size_t limit) {
    reference_result r;
    for (;;) {
        std::string_view const rest = s.substr(r.consumed);
        if (rest.size() < 4) return r;
        auto const* p = reinterpret_cast<unsigned char const*>(rest.data());
        std::size_t const n =
            (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3];
        if (n == 0) return r.error = wire::frame_error::empty_frame, r;
        if (n > limit) return r.error = wire::frame_error::frame_too_large, r;
        if (rest.size() < 4 + n) return r;
        r.frames.emplace_back(rest.substr(4, n));
        r.consumed += 4 + n;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    fuzz::reader in(data, size);
    static constexpr std::size_t limits[] = {wire::default_frame_limit, 16, 300, 65536};
    std::size_t const limit = limits[in.below(std::size(limits))];
    fuzz::splitmix chunks(in.u64());
    std::string const stream = in.rest();

    auto const expected = reference(stream, limit);

    wire::frame_decoder decoder(limit);
    std::vector<std::string> frames;
    static constexpr std::size_t max_chunk[] = {1, 3, 7, 64, 4096};
    std::size_t const cap = max_chunk[chunks.next() % std::size(max_chunk)];
    for (std::size_t at = 0; at < stream.size();) {
        std::size_t const n = std::min(stream.size() - at, 1 + chunks.next() % cap);
        decoder.feed(std::string_view(stream).substr(at, n));
        at += n;
        while (auto frame = decoder.next()) {
            FUZZ_CHECK(!frame->empty() && frame->size() <= limit);
            frames.push_back(std::move(*frame));
        }
        // An error is for good: nothing more comes out, whatever is fed.
        if (decoder.error() != wire::frame_error::none) FUZZ_CHECK(!decoder.next());
    }

    FUZZ_CHECK(frames == expected.frames);
    FUZZ_CHECK(decoder.error() == expected.error);
    if (expected.error == wire::frame_error::none)
        FUZZ_CHECK(decoder.buffered() == stream.size() - expected.consumed);

    // What comes out goes back in unchanged.
    wire::frame_decoder again(limit);
    for (auto const& f : frames) {
        again.feed(wire::encode_frame(f));
        auto const round = again.next();
        FUZZ_CHECK(round && *round == f && again.buffered() == 0);
    }
    return 0;
}
