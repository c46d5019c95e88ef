// Fuzzes the protocol engine: three engine::node instances driven by random inputs, frames
// among them and frames injected from anywhere, with the invariants of engine_model.hpp
// checked after every input.
#include "fuzz/engine_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    p2pchat::fuzz::run_engine(data, size);
    return 0;
}
