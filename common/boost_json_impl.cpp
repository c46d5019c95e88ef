// Boost.JSON compiled into the executable that lists this file (p2pchatctl, p2pchatd), once,
// rather than loaded from libboost_json.so: with libstdc++ linked statically the program then
// loads no C++ shared library at all. p2pchatctl starts faster (about 3 ms against 5 ms per
// `status` run); p2pchatd pages in only the C++ code it uses (docs/BENCHMARKS.md, B5).
// --as-needed drops the unused .so that p2pchat_common brings along.
#include <boost/json/src.hpp>
