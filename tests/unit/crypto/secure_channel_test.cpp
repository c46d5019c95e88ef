#include "common/crypto/secure_channel.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <memory>
#include <string>
#include <vector>

namespace p2pchat::crypto {
namespace {

identity_keys new_identity() {
    identity_keys k;
    crypto_sign_keypair(k.public_key.data(), k.secret_key.data());
    return k;
}

struct outcome {
    bool ok = false;
    handshake_failure failure = handshake_failure::malformed;
    int failed_at = -1;  // which message was refused
};

outcome run(channel_handshake& initiator, channel_handshake& responder) {
    outcome o;
    std::string message = initiator.start();
    for (int i = 0; i < 3; ++i) {
        auto& reader = i % 2 == 0 ? responder : initiator;
        auto answer = reader.receive(message, o.failure);
        if (!answer) {
            o.failed_at = i;
            return o;
        }
        message = *answer;
    }
    o.ok = initiator.done() && responder.done();
    return o;
}

TEST(ChannelHandshake, EachSideLearnsTheOthersIdentityAndTheSameKeys) {
    auto const a = new_identity(), b = new_identity();
    auto const network = generate_network_key();
    channel_handshake initiator(handshake::role::initiator, a, network);
    channel_handshake responder(handshake::role::responder, b, network);
    ASSERT_TRUE(run(initiator, responder).ok);
    EXPECT_EQ(initiator.peer_identity(), b.public_key);
    EXPECT_EQ(responder.peer_identity(), a.public_key);
    auto ka = initiator.keys(), kb = responder.keys();
    std::string sealed, opened;
    ASSERT_TRUE(ka.send.encrypt({}, "hello", sealed));
    ASSERT_TRUE(kb.receive.decrypt({}, sealed, opened));
    EXPECT_EQ(opened, "hello");
}

TEST(ChannelHandshake, OpenNetworksHandshakeToo) {
    auto const a = new_identity(), b = new_identity();
    auto const open = open_network_key();
    EXPECT_TRUE(open.open);
    channel_handshake initiator(handshake::role::initiator, a, open);
    channel_handshake responder(handshake::role::responder, b, open);
    EXPECT_TRUE(run(initiator, responder).ok);
}

TEST(ChannelHandshake, AStrangerIsRefusedAtItsFirstMessageBeforeAnyDiffieHellman) {
    auto const a = new_identity(), b = new_identity();
    channel_handshake stranger(handshake::role::initiator, a, generate_network_key());
    channel_handshake responder(handshake::role::responder, b, generate_network_key());
    auto const o = run(stranger, responder);
    EXPECT_FALSE(o.ok);
    EXPECT_EQ(o.failed_at, 0);
    EXPECT_EQ(o.failure, handshake_failure::not_a_member);
}

TEST(ChannelHandshake, AnOpenNetworkNodeCannotEnterAClosedOne) {
    channel_handshake outsider(handshake::role::initiator, new_identity(), open_network_key());
    channel_handshake member(handshake::role::responder, new_identity(), generate_network_key());
    auto const o = run(outsider, member);
    EXPECT_EQ(o.failed_at, 0);
    EXPECT_EQ(o.failure, handshake_failure::not_a_member);
}

TEST(ChannelHandshake, AnIdentityThatIsNotTheStaticKeysOwnIsRefused) {
    auto liar = new_identity();
    liar.public_key = new_identity().public_key;  // claims someone else's id
    auto const network = generate_network_key();
    {
        channel_handshake initiator(handshake::role::initiator, liar, network);
        channel_handshake responder(handshake::role::responder, new_identity(), network);
        auto const o = run(initiator, responder);
        EXPECT_EQ(o.failed_at, 2);
        EXPECT_EQ(o.failure, handshake_failure::bad_identity);
    }
    {
        channel_handshake initiator(handshake::role::initiator, new_identity(), network);
        channel_handshake responder(handshake::role::responder, liar, network);
        auto const o = run(initiator, responder);
        EXPECT_EQ(o.failed_at, 1);
        EXPECT_EQ(o.failure, handshake_failure::bad_identity);
    }
}

TEST(ChannelHandshake, TamperedOrTruncatedMessagesAreRefused) {
    auto const a = new_identity(), b = new_identity();
    auto const network = generate_network_key();
    for (int target = 0; target < 3; ++target) {
        for (int how = 0; how < 2; ++how) {
            channel_handshake initiator(handshake::role::initiator, a, network);
            channel_handshake responder(handshake::role::responder, b, network);
            handshake_failure failure{};
            std::string message = initiator.start();
            bool refused = false;
            for (int i = 0; i < 3 && !refused; ++i) {
                if (i == target) {
                    if (how == 0)
                        message[message.size() / 2] ^= 0x20;
                    else
                        message.pop_back();
                }
                auto& reader = i % 2 == 0 ? responder : initiator;
                auto answer = reader.receive(message, failure);
                if (!answer) {
                    refused = true;
                    EXPECT_EQ(i, target);
                    break;
                }
                message = *answer;
            }
            EXPECT_TRUE(refused) << "message " << target << (how ? " truncated" : " tampered");
        }
    }
}

TEST(ChannelHandshake, GarbageInPlaceOfAHandshakeIsRefused) {
    channel_handshake responder(handshake::role::responder, new_identity(), generate_network_key());
    handshake_failure failure{};
    EXPECT_FALSE(responder.receive("", failure));
    EXPECT_EQ(failure, handshake_failure::malformed);
    channel_handshake responder2(handshake::role::responder, new_identity(),
                                 generate_network_key());
    EXPECT_FALSE(responder2.receive(R"({"v":1,"type":"chat"})", failure));
}

// ---------------------------------------------------------------- records

struct secured_pair {
    transport_keys a, b;
    secured_pair() {
        auto const network = generate_network_key();
        auto const ia = new_identity(), ib = new_identity();
        channel_handshake initiator(handshake::role::initiator, ia, network);
        channel_handshake responder(handshake::role::responder, ib, network);
        EXPECT_TRUE(run(initiator, responder).ok);
        a = initiator.keys();
        b = responder.keys();
    }
};

using frame_list = std::vector<std::shared_ptr<std::string const>>;

frame_list frames_of(std::vector<std::string> const& payloads) {
    frame_list out;
    for (auto const& p : payloads)
        out.push_back(std::make_shared<std::string const>(wire::encode_frame(p)));
    return out;
}

TEST(Records, FramesSealedInOneRecordComeOutInOrder) {
    secured_pair s;
    std::string wire;
    ASSERT_TRUE(seal_records(s.a.send, frames_of({"one", "two", "three"}), wire));
    record_decoder decoder(s.b.receive);
    // Fed a byte at a time, as a slow network might.
    std::vector<std::string> got;
    for (char c : wire) {
        decoder.feed(std::string_view(&c, 1));
        while (auto f = decoder.next()) got.push_back(*f);
    }
    EXPECT_EQ(got, (std::vector<std::string>{"one", "two", "three"}));
    EXPECT_EQ(decoder.failure(), record_decoder::error::none);
    EXPECT_EQ(s.a.send.nonce(), 1u) << "three frames, one record";
}

TEST(Records, FramesBeyondOneRecordsLimitGoInTheNext) {
    secured_pair s;
    std::string const big(wire::default_frame_limit, 'x');
    std::string wire;
    ASSERT_TRUE(seal_records(s.a.send, frames_of({big, "small", big}), wire));
    EXPECT_EQ(s.a.send.nonce(), 3u);
    record_decoder decoder(s.b.receive);
    decoder.feed(wire);
    std::vector<std::size_t> sizes;
    while (auto f = decoder.next()) sizes.push_back(f->size());
    EXPECT_EQ(sizes, (std::vector<std::size_t>{big.size(), 5, big.size()}));
}

TEST(Records, ATamperedRecordEndsTheStream) {
    secured_pair s;
    std::string wire;
    seal_records(s.a.send, frames_of({"hello"}), wire);
    wire[wire.size() - 3] ^= 1;
    record_decoder decoder(s.b.receive);
    decoder.feed(wire);
    EXPECT_FALSE(decoder.next());
    EXPECT_EQ(decoder.failure(), record_decoder::error::not_authentic);
}

TEST(Records, AReplayedOrReorderedRecordEndsTheStream) {
    secured_pair s;
    std::string first, second;
    seal_records(s.a.send, frames_of({"first"}), first);
    seal_records(s.a.send, frames_of({"second"}), second);
    {
        record_decoder decoder(s.b.receive);
        decoder.feed(first + first);
        EXPECT_EQ(*decoder.next(), "first");
        EXPECT_FALSE(decoder.next());
        EXPECT_EQ(decoder.failure(), record_decoder::error::not_authentic);
    }
    {
        record_decoder decoder(s.b.receive);
        decoder.feed(second);
        EXPECT_FALSE(decoder.next());
        EXPECT_EQ(decoder.failure(), record_decoder::error::not_authentic);
    }
}

TEST(Records, ATruncatedRecordWaitsForTheRestAndOversizedOnesAreRefused) {
    secured_pair s;
    std::string wire;
    seal_records(s.a.send, frames_of({"hello"}), wire);
    record_decoder decoder(s.b.receive);
    decoder.feed(std::string_view(wire).substr(0, wire.size() - 1));
    EXPECT_FALSE(decoder.next());
    EXPECT_EQ(decoder.failure(), record_decoder::error::none);

    std::string header = "\x7f\xff\xff\xff";  // a 2 GiB record
    record_decoder huge(s.b.receive);
    huge.feed(header);
    EXPECT_FALSE(huge.next());
    EXPECT_EQ(huge.failure(), record_decoder::error::bad_record);
}

}  // namespace
}  // namespace p2pchat::crypto
