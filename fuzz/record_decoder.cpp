// Fuzzes crypto::record_decoder, the reader of an encrypted connection: records under a fixed
// key, sealed by a real sender (seal_records, seal_record) and then tampered with or mixed with
// raw bytes, fed in random chunks.
//
// Invariants: no crash; an error is for good; what comes out is always a prefix of what the
// sender sealed (a changed byte anywhere can only stop the stream, never change it), unless
// raw bytes were inserted; no frame comes out that runs from one record into the next (a
// record carries whole frames); an untampered stream of whole frames comes out whole, with
// nothing left over.
//
// Input: u64 chunking seed, then ops until the end: u8 kind and operands (see the enum).
#include <memory>
#include <string>
#include <vector>

#include "common/crypto/secure_channel.hpp"
#include "fuzz/formats.hpp"
#include "fuzz/input.hpp"

namespace {

using namespace p2pchat;
using namespace p2pchat::crypto;

using namespace fuzz::record_format;

cipher_state fixed_cipher() {
    key k;
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<unsigned char>(i * 7 + 1);
    cipher_state c;
    c.init(k);
    return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    fuzz::reader in(data, size);
    fuzz::splitmix chunks(in.u64());
    cipher_state sender = fixed_cipher();

    std::string stream;
    std::string sealed_plaintext;  // everything the sender sealed, in order
    bool tampered = false, raw = false, whole_frames = true, big_done = false;
    bool empty_record = false;  // a record with no frame at all: malformed too
    // Where in sealed_plaintext each seal call began: records end there (and between frames).
    std::vector<std::size_t> record_starts;
    for (int n = 0; n < 64 && !in.done(); ++n) {
        auto const kind = static_cast<op>(in.u8() % op_count);
        if (kind == seal_frames || kind == seal_bytes || kind == seal_big)
            record_starts.push_back(sealed_plaintext.size());
        switch (kind) {
            case seal_frames: {
                std::vector<std::shared_ptr<std::string const>> frames;
                std::size_t const count = 1 + in.u8() % 8;
                for (std::size_t i = 0; i < count; ++i) {
                    std::string payload = in.blob();
                    if (payload.empty()) payload = "{}";
                    frames.push_back(
                        std::make_shared<std::string const>(wire::encode_frame(payload)));
                    sealed_plaintext += *frames.back();
                }
                FUZZ_CHECK(seal_records(sender, frames, stream));
                break;
            }
            case seal_bytes: {
                std::string const plaintext = in.blob();
                FUZZ_CHECK(seal_record(sender, plaintext, stream));
                sealed_plaintext += plaintext;
                whole_frames = false;
                empty_record = empty_record || plaintext.empty();
                break;
            }
            case seal_big: {
                std::size_t const choice = in.u8();
                if (big_done) break;
                big_done = true;
                std::size_t const sizes[] = {wire::default_frame_limit,
                                             wire::default_frame_limit - 1, 70000};
                std::vector<std::shared_ptr<std::string const>> frames;
                frames.push_back(std::make_shared<std::string const>(
                    wire::encode_frame(std::string(sizes[choice % 3], 'b'))));
                if (choice & 4)
                    frames.push_back(
                        std::make_shared<std::string const>(wire::encode_frame("after")));
                for (auto const& f : frames) sealed_plaintext += *f;
                FUZZ_CHECK(seal_records(sender, frames, stream));
                break;
            }
            case insert_raw:
                stream += in.blob();
                tampered = raw = true;
                break;
            case flip_byte: {
                std::size_t const at = in.u32();
                auto const mask = static_cast<char>(in.u8() | 1);
                if (!stream.empty()) stream[at % stream.size()] ^= mask;
                tampered = true;
                break;
            }
            case cut_end:
                stream.resize(stream.size() - std::min<std::size_t>(in.u16(), stream.size()));
                tampered = true;
                break;
            case op_count:
                break;
        }
    }

    record_decoder decoder(fixed_cipher());
    std::string received;                 // the frames that came out, with their headers again
    std::vector<std::size_t> frame_ends;  // in `received`
    static constexpr std::size_t max_chunk[] = {1, 5, 100, 5000, 1 << 20};
    std::size_t const cap = max_chunk[chunks.next() % std::size(max_chunk)];
    for (std::size_t at = 0; at < stream.size();) {
        // At most ~1000 chunks: a megabyte record byte by byte would take seconds.
        std::size_t const n =
            std::min(stream.size() - at, std::max(1 + chunks.next() % cap, stream.size() / 1000));
        decoder.feed(std::string_view(stream).substr(at, n));
        at += n;
        while (auto frame = decoder.next()) {
            FUZZ_CHECK(!frame->empty() && frame->size() <= wire::default_frame_limit);
            received += wire::encode_frame(*frame);
            frame_ends.push_back(received.size());
        }
        if (decoder.failure() != record_decoder::error::none) {
            auto const failure = decoder.failure();
            FUZZ_CHECK(!decoder.next() && decoder.failure() == failure);
        }
    }

    if (!raw) {
        FUZZ_CHECK(std::string_view(sealed_plaintext).starts_with(received));
        std::size_t frame_start = 0;
        for (std::size_t const end : frame_ends) {
            for (std::size_t const start : record_starts)
                FUZZ_CHECK(start <= frame_start || start >= end);
            frame_start = end;
        }
    }
    if (!tampered) {
        auto const failure = decoder.failure();
        FUZZ_CHECK(failure == record_decoder::error::none ||
                   (!whole_frames && failure == record_decoder::error::bad_frame) ||
                   (empty_record && failure == record_decoder::error::bad_record));
        if (whole_frames) FUZZ_CHECK(received == sealed_plaintext && decoder.buffered() == 0);
    }
    return 0;
}
