#include "rbln/runtime/Isa.h"
#include <gtest/gtest.h>
TEST(Isa, Placeholder) { EXPECT_NE(rbln::isa::lookup("mm"), nullptr); }
