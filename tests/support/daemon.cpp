#include "tests/support/daemon.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/rpc/rpc.hpp"

namespace p2pchat::test {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

}  // namespace

// ---------------------------------------------------------------- JSON helpers

std::optional<json::object> parse_object(std::string_view text) {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) return std::nullopt;
    return std::move(v.as_object());
}

std::string str(json::object const& o, std::string_view key) {
    auto const* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::int64_t num(json::object const& o, std::string_view key) {
    auto const* v = o.if_contains(key);
    if (!v) return -1;
    if (v->is_int64()) return v->as_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
    return -1;
}

std::size_t count_messages(std::vector<json::object> const& events, std::string_view text) {
    return static_cast<std::size_t>(std::count_if(events.begin(), events.end(), [&](auto& e) {
        return str(e, "type") == "message" && str(e, "text") == text;
    }));
}

// ---------------------------------------------------------------- tail_reader

// Creates an unlinked temporary file: returns a write descriptor for the child's stdout and
// stores a separate read descriptor (its own file offset) in read_fd.
int tail_reader::open_output(int& read_fd) {
    std::string path = "/tmp/p2pchat-it-tail-XXXXXX";
    int const write_fd = ::mkostemp(path.data(), O_CLOEXEC);
    if (write_fd < 0) throw_errno("mkostemp");
    read_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    ::unlink(path.c_str());
    if (read_fd < 0) {
        ::close(write_fd);
        throw_errno("open " + path);
    }
    return write_fd;
}

tail_reader::tail_reader(std::string const& socket_path, std::vector<std::string> extra_args)
    : proc_([&] {
          int const write_fd = open_output(read_fd_);
          std::vector<std::string> args{"tail", "--json"};
          args.insert(args.end(), extra_args.begin(), extra_args.end());
          try {
              child_process child(ctl_argv(socket_path, std::move(args)),
                                  stdio_spec{-1, write_fd, -2});
              ::close(write_fd);
              return child;
          } catch (...) {
              ::close(write_fd);
              close_fd(read_fd_);
              throw;
          }
      }()) {}

tail_reader::~tail_reader() { close_fd(read_fd_); }

tail_reader::tail_reader(tail_reader&& other) noexcept
    : read_fd_(std::exchange(other.read_fd_, -1)),
      proc_(std::move(other.proc_)),
      offset_(other.offset_),
      partial_(std::move(other.partial_)),
      err_(std::move(other.err_)),
      events_(std::move(other.events_)),
      bad_lines_(std::move(other.bad_lines_)) {}

void tail_reader::pump() {
    if (read_fd_ < 0) return;
    if (proc_.stderr_fd() >= 0) drain(proc_.stderr_fd(), err_);
    char buf[65536];
    for (;;) {
        ssize_t const n = ::pread(read_fd_, buf, sizeof buf, offset_);
        if (n <= 0) break;
        offset_ += n;
        partial_.append(buf, static_cast<std::size_t>(n));
    }
    std::size_t start = 0;
    for (std::size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
        std::string_view line(partial_.data() + start, nl - start);
        if (auto o = parse_object(line))
            events_.push_back(std::move(*o));
        else
            bad_lines_.emplace_back(line);
    }
    partial_.erase(0, start);
}

bool tail_reader::wait_for(std::function<bool(std::vector<json::object> const&)> const& pred,
                           milliseconds timeout) {
    return wait_until(
        [&] {
            pump();
            return pred(events_);
        },
        timeout);
}

std::vector<json::object> tail_reader::messages() const { return of_type("message"); }

std::vector<json::object> tail_reader::of_type(std::string_view type) const {
    std::vector<json::object> out;
    for (auto const& e : events_)
        if (str(e, "type") == type) out.push_back(e);
    return out;
}

std::string tail_reader::stderr_text() {
    if (proc_.stderr_fd() >= 0) drain(proc_.stderr_fd(), err_);
    return err_;
}

// ---------------------------------------------------------------- node

std::vector<std::string> ctl_argv(std::string const& socket_path, std::vector<std::string> args) {
    std::vector<std::string> argv{P2PCHATCTL_PATH, "--socket", socket_path};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

namespace {

child_process start_daemon(node::options const& o, fs::path const& dir, std::string const& name,
                           std::string const& socket, fs::path const& log_path) {
    fs::path const state = o.state_dir.empty() ? dir / "state" : fs::path(o.state_dir);
    fs::create_directories(state);
    fs::permissions(state, fs::perms::owner_all);
    // An empty config file keeps a host's /etc/p2pchat/p2pchatd.conf out of the tests.
    std::ofstream(dir / "p2pchatd.conf").flush();
    std::vector<std::string> argv{P2PCHATD_PATH,
                                  "--listen",
                                  o.listen.empty() ? o.host + ":0" : o.listen,
                                  "--state-dir",
                                  state.string(),
                                  "--socket",
                                  socket,
                                  "--config",
                                  (dir / "p2pchatd.conf").string(),
                                  "--gossip-interval",
                                  std::to_string(o.gossip_interval_ms)};
    if (!o.default_name) argv.insert(argv.end(), {"--name", name});
    if (o.max_peers > 0) argv.insert(argv.end(), {"--max-peers", std::to_string(o.max_peers)});
    for (auto const& j : o.join) argv.insert(argv.end(), {"--join", j});
    argv.insert(argv.end(), o.extra.begin(), o.extra.end());
    // A prefix that execs its argument (`ip netns exec NS`) keeps the pid: signals still reach
    // the daemon itself.
    argv.insert(argv.begin(), o.prefix.begin(), o.prefix.end());
    return spawn_logged(argv, log_path);
}

}  // namespace

node::node(options o)
    : host_(o.host),
      name_(o.name.empty() ? "n-" + o.host : o.name),
      socket_(o.socket_path.empty() ? (dir_.path() / "ctl.sock").string() : o.socket_path),
      log_path_(dir_.path() / "daemon.log"),
      daemon_(start_daemon(o, dir_.path(), name_, socket_, log_path_)) {
    if (!o.wait_ready) return;
    std::optional<json::object> st;
    bool const ready = wait_until(
        [&] {
            if (!daemon_.running()) return true;
            auto r = ctl({"status", "--json"});
            if (r.status == 0) st = parse_object(r.out);
            return st.has_value();
        },
        15s);
    if (!ready || !st) {
        auto const exited = daemon_.try_wait();
        throw std::runtime_error(
            "p2pchatd on " + host_ +
            (exited ? " exited with status " + std::to_string(*exited) : " did not answer") +
            "; its log:\n" + log());
    }
    id_ = str(*st, "id");
    listen_ = str(*st, "listen");
    if (id_.size() != 64 || listen_.empty())
        throw std::runtime_error("status --json lacks id/listen: " + json::serialize(*st));
}

node::~node() {
    if (daemon_.running()) daemon_.kill_and_reap();
    if (auto const report = sanitizer_report(log()); !report.empty())
        ADD_FAILURE() << "p2pchatd on " << host_ << " reported:\n" << report;
}

process_result node::ctl(std::vector<std::string> args, std::string_view input,
                         milliseconds timeout) const {
    return run_process(ctl_argv(socket_, std::move(args)), input, timeout);
}

json::object node::status() const {
    auto r = ctl({"status", "--json"});
    auto o = r.status == 0 ? parse_object(r.out) : std::nullopt;
    if (!o)
        throw std::runtime_error("status --json on " + host_ + " failed (" +
                                 std::to_string(r.status) + "): " + r.err + r.out);
    return *o;
}

json::array node::peers() const {
    auto r = ctl({"peers", "--json"});
    auto o = r.status == 0 ? parse_object(r.out) : std::nullopt;
    auto const* p = o ? o->if_contains("peers") : nullptr;
    if (!p || !p->is_array())
        throw std::runtime_error("peers --json on " + host_ + " failed (" +
                                 std::to_string(r.status) + "): " + r.err + r.out);
    return p->as_array();
}

std::vector<std::string> node::peer_ids() const {
    std::vector<std::string> ids;
    auto r = ctl({"peers", "--json"});
    auto o = r.status == 0 ? parse_object(r.out) : std::nullopt;
    auto const* p = o ? o->if_contains("peers") : nullptr;
    if (!p || !p->is_array()) return ids;
    for (auto const& e : p->as_array())
        if (e.is_object()) ids.push_back(str(e.as_object(), "id"));
    std::sort(ids.begin(), ids.end());
    return ids;
}

tail_reader node::tail(std::vector<std::string> extra_args) const {
    auto const before = num(status(), "subscribers");
    tail_reader reader(socket_, std::move(extra_args));
    bool const subscribed = wait_until(
        [&] {
            if (!reader.process().running()) return true;
            return num(status(), "subscribers") > before;
        },
        10s);
    if (!subscribed || !reader.process().running())
        throw std::runtime_error("p2pchatctl tail on " + host_ +
                                 " did not subscribe: " + reader.stderr_text());
    return reader;
}

std::optional<int> node::terminate(milliseconds timeout) {
    daemon_.signal(SIGTERM);
    return daemon_.wait_for(timeout);
}

std::uint16_t node::port() const {
    auto const colon = listen_.rfind(':');
    return static_cast<std::uint16_t>(std::stoi(listen_.substr(colon + 1)));
}

std::string node::log() const {
    std::ifstream f(log_path_);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

std::string logs_of(std::vector<node const*> const& nodes) {
    std::string out;
    for (auto const* n : nodes) {
        std::string l = n->log();
        if (l.size() > 4000) l = "...\n" + l.substr(l.size() - 4000);
        out += "---- log of " + n->name() + " (" + n->host() + ") ----\n" + l;
    }
    return out;
}

node_group::node_group(int n) {
    nodes.push_back(std::make_unique<node>(on("127.0.0.1").named("n1")));
    for (int i = 2; i <= n; ++i)
        nodes.push_back(std::make_unique<node>(on("127.0.0." + std::to_string(i))
                                                   .named("n" + std::to_string(i))
                                                   .joining(nodes.front()->listen())));
}

bool node_group::everyone_holds_everyone() const {
    for (auto const& n : nodes)
        if (n->peers().size() != nodes.size()) return false;
    return true;
}

std::vector<node const*> node_group::all() const {
    std::vector<node const*> out;
    for (auto const& n : nodes) out.push_back(n.get());
    return out;
}

bool knows_alive(node const& n, std::string const& id) {
    for (auto const& p : n.peers())
        if (str(p.as_object(), "id") == id && str(p.as_object(), "state") == "alive") return true;
    return false;
}

bool send_kept(node const& n, std::string const& text) {
    auto const status = n.ctl({"send", text}).status;
    return status == 0 || status == rpc::exit_status::nobody;
}

}  // namespace p2pchat::test
