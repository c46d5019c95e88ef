// A counting global operator new/delete for p2pchat-sim (docs/SCALING.md): every allocation
// carries a 16-byte header naming the account it was charged to (memory::current_account
// when it was made) and its size, so memory freed later, under another account or none, is
// taken off the right one. Counts requested bytes: malloc's own overhead (about 8-16 bytes
// per allocation) is not in them; `allocations` lets a reader add it.
#include <cstddef>
#include <cstdlib>
#include <new>

#include "tests/sim/memory.hpp"

namespace p2pchat::sim::memory {

namespace {

struct header {
    std::int32_t account;
    std::uint32_t offset;  // from the start of the block to the user's pointer
    std::uint64_t size;
};
static_assert(sizeof(header) == 16);

// Per thread: every world lives and dies on one thread.
thread_local std::int64_t bytes_[max_accounts + 1];
thread_local std::int64_t allocations_[max_accounts + 1];

int account_now() {
    int const a = current_account;
    return a >= 0 && a <= max_accounts ? a : 0;
}

void* allocate(std::size_t size, std::size_t align, bool nothrow) {
    std::size_t const offset = align > sizeof(header) ? align : sizeof(header);
    std::size_t total = offset + (size ? size : 1);
    void* raw = nullptr;
    if (align > alignof(std::max_align_t)) {
        total = (total + align - 1) / align * align;
        raw = std::aligned_alloc(align, total);
    } else {
        raw = std::malloc(total);
    }
    if (!raw) {
        if (nothrow) return nullptr;
        throw std::bad_alloc();
    }
    auto* user = static_cast<unsigned char*>(raw) + offset;
    int const account = account_now();
    new (user - sizeof(header)) header{account, static_cast<std::uint32_t>(offset), size};
    bytes_[account] += static_cast<std::int64_t>(size);
    ++allocations_[account];
    return user;
}

void release(void* p) noexcept {
    if (!p) return;
    auto* user = static_cast<unsigned char*>(p);
    auto const* h = reinterpret_cast<header const*>(user - sizeof(header));
    bytes_[h->account] -= static_cast<std::int64_t>(h->size);
    --allocations_[h->account];
    std::free(user - h->offset);
}

}  // namespace

usage live(int account) {
    if (account < 0 || account > max_accounts) return {};
    return {bytes_[account], allocations_[account]};
}

}  // namespace p2pchat::sim::memory

using p2pchat::sim::memory::allocate;
using p2pchat::sim::memory::release;

void* operator new(std::size_t n) { return allocate(n, 0, false); }
void* operator new[](std::size_t n) { return allocate(n, 0, false); }
void* operator new(std::size_t n, std::nothrow_t const&) noexcept { return allocate(n, 0, true); }
void* operator new[](std::size_t n, std::nothrow_t const&) noexcept { return allocate(n, 0, true); }
void* operator new(std::size_t n, std::align_val_t a) {
    return allocate(n, static_cast<std::size_t>(a), false);
}
void* operator new[](std::size_t n, std::align_val_t a) {
    return allocate(n, static_cast<std::size_t>(a), false);
}
void* operator new(std::size_t n, std::align_val_t a, std::nothrow_t const&) noexcept {
    return allocate(n, static_cast<std::size_t>(a), true);
}
void* operator new[](std::size_t n, std::align_val_t a, std::nothrow_t const&) noexcept {
    return allocate(n, static_cast<std::size_t>(a), true);
}
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, std::nothrow_t const&) noexcept { release(p); }
void operator delete[](void* p, std::nothrow_t const&) noexcept { release(p); }
void operator delete(void* p, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, std::align_val_t, std::nothrow_t const&) noexcept { release(p); }
void operator delete[](void* p, std::align_val_t, std::nothrow_t const&) noexcept { release(p); }
