#include "tests/sim/world.hpp"

#include <sodium.h>

#include <cstdio>

namespace p2pchat::sim {

namespace {

// A real Ed25519 identity, from the run's generator: the engine signs with it and checks the
// signatures of what others relay, so the ids must be keys. Same seed, same keys.
void random_identity(rng& random, node_spec& spec) {
    unsigned char seed[crypto_sign_SEEDBYTES];
    for (auto& b : seed) b = static_cast<unsigned char>(random.below(256));
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    crypto_sign_seed_keypair(pk, spec.key.data(), seed);
    char hex[crypto_sign_PUBLICKEYBYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, pk, sizeof pk);
    spec.id = hex;
}

std::string host_of(int index) {
    unsigned const n = static_cast<unsigned>(index) + 1;
    char buf[24];
    std::snprintf(buf, sizeof buf, "10.%u.%u.%u", (n >> 16) & 255U, (n >> 8) & 255U, n & 255U);
    return buf;
}

}  // namespace

world::world(world_config const& config)
    : config_(config),
      random_(config.seed),
      trace_(config.trace_out),
      net_(queue_, random_, *this, config.latency),
      recorder_(*this) {
    nodes_.reserve(static_cast<std::size_t>(config.nodes));
    for (int i = 0; i < config.nodes; ++i) {
        node_spec spec;
        random_identity(random_, spec);
        spec.name = "n" + std::to_string(i);
        spec.host = host_of(i);
        spec.listen = spec.host + ":7447";
        // Half the clocks are right; the others are off by up to max_skew either way.
        if (random_.chance(0.5))
            spec.skew_ms = random_.between(-config.max_skew_ms, config.max_skew_ms);
        // Steady clocks count from each machine's boot: an hour to a month ago.
        spec.steady_boot = sim_time(random_.between(3'600'000'000LL, 2'592'000'000'000LL));
        by_host_.emplace(spec.host, i);
        by_id_.emplace(spec.id, i);
        names_.add(spec.id, spec.name);
        net_.add_node();
        nodes_.push_back(std::make_unique<sim_node>(*this, i, std::move(spec)));
    }
}

int world::node_at(std::string_view host) const {
    auto it = by_host_.find(host);
    return it == by_host_.end() ? -1 : it->second;
}

int world::node_by_id(std::string_view id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? -1 : it->second;
}

std::vector<int> world::live_members(int except) const {
    std::vector<int> out;
    for (int i = 0; i < size(); ++i)
        if (i != except && nodes_[static_cast<std::size_t>(i)]->member()) out.push_back(i);
    return out;
}

std::vector<int> world::pick_contacts(int self) {
    auto candidates = live_members(self);
    random_.shuffle(candidates);
    if (candidates.size() > 3) candidates.resize(3);
    return candidates;
}

bool world::listening(int node) const { return node >= 0 && this->node(node).up(); }

bool world::accept(int node, connection_id c, int from) { return this->node(node).accept(c, from); }

void world::deliver(int node, connection_id c, segment_kind kind, frame const& f) {
    this->node(node).deliver(c, kind, f);
}

}  // namespace p2pchat::sim
