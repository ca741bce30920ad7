//===- BlockManagerTest.cpp - Paged KV block accounting -------------------===//
#include "rbln/runtime/Llm.h"

#include <gtest/gtest.h>

#include <set>

using namespace rbln;

TEST(BlockManager, BlockZeroIsReservedAndBlocksAreHandedOutOnce) {
  BlockManager m(5);
  EXPECT_EQ(m.numBlocks(), 5);
  EXPECT_EQ(m.numFree(), 4);
  EXPECT_EQ(m.numUsed(), 0);
  std::set<int32_t> got;
  for (int i = 0; i < 4; ++i) {
    auto b = m.allocate();
    ASSERT_TRUE(b.has_value());
    EXPECT_NE(*b, 0);
    EXPECT_TRUE(got.insert(*b).second);
  }
  EXPECT_FALSE(m.allocate().has_value()); // out of blocks: no block, no crash
  EXPECT_EQ(m.numUsed(), 4);
  m.release(0); // releasing the reserved block is a no-op
  EXPECT_EQ(m.numFree(), 0);
}

TEST(BlockManager, SharedBlocksAreFreedWithTheirLastReference) {
  BlockManager m(3);
  int32_t b = *m.allocate();
  m.retain(b);
  EXPECT_EQ(m.refCount(b), 2);
  m.release(b);
  EXPECT_EQ(m.numFree(), 1);
  m.release(b);
  EXPECT_EQ(m.numFree(), 2);
  EXPECT_EQ(m.refCount(b), 0);
}

TEST(BlockManager, PrefixCacheLivesWhileItsBlockIsHeld) {
  BlockManager m(4);
  int32_t b = *m.allocate();
  m.publish(0x1234, b);
  ASSERT_TRUE(m.lookup(0x1234).has_value());
  EXPECT_EQ(*m.lookup(0x1234), b);
  m.publish(0x1234, *m.allocate()); // the first publisher keeps the name
  EXPECT_EQ(*m.lookup(0x1234), b);
  m.release(b);
  EXPECT_FALSE(m.lookup(0x1234).has_value()); // freed: its contents may be overwritten
}
