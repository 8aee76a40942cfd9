//===- SieveCudaHeaderTest.cpp - sieve's driver constants are cuda.h's ----===//
//
// The runtime never includes cuda.h (the driver is dlopen'd); it carries the
// few enum values, structure layouts and signatures it needs. Where the CUDA
// toolkit is installed this test compares them with the header. (Its own
// translation unit: cuda.h's global names would collide with the copies.)
//
//===----------------------------------------------------------------------===//

#include <gtest/gtest.h>

#ifdef SIEVE_HAVE_CUDA_H
#include "runtime/SieveDriver.h"
#include "runtime/SieveTensorMap.h"

#include <cuda.h>

namespace d = sieve::driver;

TEST(SieveCudaHeader, TensorMapConstantsAndLayout) {
  static_assert(sizeof(d::TensorMap) == sizeof(CUtensorMap), "CUtensorMap's size");
  static_assert(alignof(d::TensorMap) == alignof(CUtensorMap), "CUtensorMap's alignment");
  EXPECT_EQ(int(d::CU_TENSOR_MAP_DATA_TYPE_FLOAT16), int(::CU_TENSOR_MAP_DATA_TYPE_FLOAT16));
  EXPECT_EQ(int(d::CU_TENSOR_MAP_DATA_TYPE_BFLOAT16), int(::CU_TENSOR_MAP_DATA_TYPE_BFLOAT16));
  EXPECT_EQ(int(d::CU_TENSOR_MAP_INTERLEAVE_NONE), int(::CU_TENSOR_MAP_INTERLEAVE_NONE));
  EXPECT_EQ(int(d::CU_TENSOR_MAP_SWIZZLE_128B), int(::CU_TENSOR_MAP_SWIZZLE_128B));
  EXPECT_EQ(int(d::CU_TENSOR_MAP_L2_PROMOTION_L2_256B), int(::CU_TENSOR_MAP_L2_PROMOTION_L2_256B));
  EXPECT_EQ(int(d::CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE), int(::CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE));
  // The entry point: sieve's pointer type has cuda.h's parameters, with the
  // enums as int and the map as void * (same sizes and passing).
  static_assert(sizeof(CUtensorMapDataType) == sizeof(int) && sizeof(CUtensorMapSwizzle) == sizeof(int),
                "the enums pass as int");
  static_assert(sizeof(cuuint64_t) == sizeof(unsigned long long), "cuuint64_t");
  static_assert(sizeof(cuuint32_t) == sizeof(unsigned), "cuuint32_t");
}

TEST(SieveCudaHeader, DriverEnumValues) {
  EXPECT_EQ(int(d::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT), int(::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT));
  EXPECT_EQ(int(d::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
            int(::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR));
  EXPECT_EQ(int(d::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
            int(::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR));
  EXPECT_EQ(int(d::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN),
            int(::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN));
  EXPECT_EQ(int(d::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES),
            int(::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES));
  EXPECT_EQ(unsigned(d::CU_STREAM_NON_BLOCKING), unsigned(::CU_STREAM_NON_BLOCKING));
  EXPECT_EQ(int(d::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), int(::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
  EXPECT_EQ(int(d::CUDA_ERROR_INVALID_CONTEXT), int(::CUDA_ERROR_INVALID_CONTEXT));
}
#else
TEST(SieveCudaHeader, TensorMapConstantsAndLayout) {
  GTEST_SKIP() << "no CUDA toolkit cuda.h at configure time";
}
#endif
