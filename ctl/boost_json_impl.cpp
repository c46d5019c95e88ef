// Boost.JSON compiled into p2pchatctl itself (once, here) rather than loaded from
// libboost_json.so: with -static-libstdc++ the binary then needs only libc, and each
// short-lived command skips the dynamic loader's work for two C++ libraries (measured
// about 3 ms against 5 ms per `status` run). --as-needed drops the unused .so.
#include <boost/json/src.hpp>
