# NumPy's pairwise summation compiled for contiguous runs: the one C implementation the compiled
# modules share (fused passes' block sums, the row kernels' sums), each giving np.add.reduce's bits.
cimport numpy as cnp

cdef extern from *:
    """
    #include <string.h>
    /* NumPy's pairwise summation (its FLOAT/DOUBLE_pairwise_sum: 8 accumulators per run of up
       to 128 values, halves cut at multiples of 8 above that) of IN values in ACC accumulators,
       each value widened as it is read.  NumPy's takes a stride, which keeps its loop scalar;
       here STEP is a constant, 1 (contiguous: the accumulators vectorize, the order stays) or
       0 (one value).  float in double is what widening a block to float64 and summing it with
       np.add.reduce gives, in one pass; float in float and double in double are
       np.add.reduce of the block itself. */
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)  /* ifunc */
    /* Wider vectors where the CPU has them (chosen once, at load): the same adds, the same
       bits (lane-wise adds of the interleaved leaves below). */
    #define PYGRAD_WIDE __attribute__((target_clones("avx2", "default")))
    #else
    #define PYGRAD_WIDE
    #endif
    #define PYGRAD_PAIRWISE(NAME, IN, ACC, STEP, ATTR) \
    ATTR static ACC NAME(const IN *a, npy_intp n) { \
        npy_intp i; \
        if (n < 8) { \
            ACC res = 0.; \
            for (i = 0; i < n; i++) res += a[i * STEP]; \
            return res; \
        } \
        if (n <= 128) { \
            ACC r[8], res; \
            for (i = 0; i < 8; i++) r[i] = a[i * STEP]; \
            for (i = 8; i < n - (n % 8); i += 8) { \
                r[0] += a[(i + 0) * STEP]; r[1] += a[(i + 1) * STEP]; \
                r[2] += a[(i + 2) * STEP]; r[3] += a[(i + 3) * STEP]; \
                r[4] += a[(i + 4) * STEP]; r[5] += a[(i + 5) * STEP]; \
                r[6] += a[(i + 6) * STEP]; r[7] += a[(i + 7) * STEP]; \
            } \
            res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7])); \
            for (; i < n; i++) res += a[i * STEP]; \
            return res; \
        } \
        npy_intp n2 = n / 2; \
        n2 -= n2 % 8; \
        return NAME(a, n2) + NAME(a + n2 * STEP, n - n2); \
    }
    PYGRAD_PAIRWISE(pygrad_pairwise_uniform, float, double, 0, )
    PYGRAD_PAIRWISE(pygrad_pairwise_ff_uniform, float, float, 0, )
    PYGRAD_PAIRWISE(pygrad_pairwise_dd_uniform, double, double, 0, )
    #if defined(__GNUC__) || defined(__clang__)
    /* float32 summed in float32, the same sums, faster: each run of up to 128 values (a leaf
       of the recursion) keeps its 8 accumulators in the 8 lanes of one vector (lane k adds the
       values k, k + 8, ... in order: the scalar accumulator r[k]), and the leaves of a part
       of up to LEAF_PART values are summed four at a time, interleaved, so the adds of one
       leaf do not wait on each other's latency.  The leaves' sums are then added up the same
       tree. */
    #define PYGRAD_LEAF_PART 4096
    typedef float pygrad_f8 __attribute__((vector_size(32)));
    static int pygrad_leaves(npy_intp off, npy_intp n, npy_intp *offs, npy_intp *lens, int k) {
        if (n <= 128) {
            offs[k] = off;
            lens[k] = n;
            return k + 1;
        }
        npy_intp n2 = n / 2;
        n2 -= n2 % 8;
        k = pygrad_leaves(off, n2, offs, lens, k);
        return pygrad_leaves(off + n2, n - n2, offs, lens, k);
    }
    #define PYGRAD_TREE(NAME, ACC) \
    static ACC NAME(npy_intp n, const ACC *sums, int *k) { \
        if (n <= 128) return sums[(*k)++]; \
        npy_intp n2 = n / 2; \
        n2 -= n2 % 8; \
        ACC left = NAME(n2, sums, k); \
        return left + NAME(n - n2, sums, k); \
    }
    PYGRAD_TREE(pygrad_tree_f, float)
    #define PYGRAD_LOAD8(p, INV, ACCV) \
        __extension__ ({ INV v_; memcpy(&v_, (p), sizeof v_); __builtin_convertvector(v_, ACCV); })
    #define PYGRAD_FINISH(r, p, len, ACC) \
        __extension__ ({ ACC res_ = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7])); \
                         for (npy_intp i_ = (len) - (len) % 8; i_ < (len); i_++) res_ += (p)[i_]; res_; })
    #define PYGRAD_PAIRWISE_FAST(NAME, LEAF, TREE, IN, ACC, INV, ACCV, ATTR) \
    ATTR static ACC NAME(const IN *a, npy_intp n) { \
        if (n <= 128) return LEAF(a, n); \
        if (n > PYGRAD_LEAF_PART) { \
            npy_intp n2 = n / 2; \
            n2 -= n2 % 8; \
            ACC left = NAME(a, n2); \
            return left + NAME(a + n2, n - n2); \
        } \
        npy_intp offs[PYGRAD_LEAF_PART / 32], lens[PYGRAD_LEAF_PART / 32]; \
        ACC sums[PYGRAD_LEAF_PART / 32]; \
        int count, j = 0, k = 0; \
        /* 128 times a power of two: leaves of 128, halves all the way down (the common case) */ \
        int even = n % 128 == 0 && ((n / 128) & (n / 128 - 1)) == 0; \
        if (even) { \
            count = (int)(n / 128); \
            for (j = 0; j < count; j++) { offs[j] = 128 * j; lens[j] = 128; } \
            j = 0; \
        } else { \
            count = pygrad_leaves(0, n, offs, lens, 0); \
        } \
        while (j < count) { \
            npy_intp groups = lens[j] / 8; \
            if (j + 4 <= count && groups >= 1 && lens[j + 1] / 8 == groups && lens[j + 2] / 8 == groups \
                    && lens[j + 3] / 8 == groups) { \
                const IN *p0 = a + offs[j], *p1 = a + offs[j + 1], *p2 = a + offs[j + 2], *p3 = a + offs[j + 3]; \
                ACCV r0 = PYGRAD_LOAD8(p0, INV, ACCV), r1 = PYGRAD_LOAD8(p1, INV, ACCV); \
                ACCV r2 = PYGRAD_LOAD8(p2, INV, ACCV), r3 = PYGRAD_LOAD8(p3, INV, ACCV); \
                for (npy_intp g = 1; g < groups; g++) { \
                    r0 = r0 + PYGRAD_LOAD8(p0 + 8 * g, INV, ACCV); \
                    r1 = r1 + PYGRAD_LOAD8(p1 + 8 * g, INV, ACCV); \
                    r2 = r2 + PYGRAD_LOAD8(p2 + 8 * g, INV, ACCV); \
                    r3 = r3 + PYGRAD_LOAD8(p3 + 8 * g, INV, ACCV); \
                } \
                sums[j] = PYGRAD_FINISH(r0, p0, lens[j], ACC); \
                sums[j + 1] = PYGRAD_FINISH(r1, p1, lens[j + 1], ACC); \
                sums[j + 2] = PYGRAD_FINISH(r2, p2, lens[j + 2], ACC); \
                sums[j + 3] = PYGRAD_FINISH(r3, p3, lens[j + 3], ACC); \
                j += 4; \
            } else { \
                sums[j] = LEAF(a + offs[j], lens[j]); \
                j++; \
            } \
        } \
        if (!even) return TREE(n, sums, &k); \
        for (; count > 1; count /= 2) \
            for (j = 0; j < count / 2; j++) sums[j] = sums[2 * j] + sums[2 * j + 1]; \
        return sums[0]; \
    }
    PYGRAD_PAIRWISE(pygrad_leaf_ff, float, float, 1, )
    PYGRAD_PAIRWISE_FAST(pygrad_pairwise_ff, pygrad_leaf_ff, pygrad_tree_f, float, float, pygrad_f8, pygrad_f8, PYGRAD_WIDE)
    #else
    PYGRAD_PAIRWISE(pygrad_pairwise_ff, float, float, 1, )
    #endif
    /* Double accumulators stay scalar: eight of them fill two vectors, which the interleaved
       leaves above made slower (measured), not faster. */
    PYGRAD_PAIRWISE(pygrad_pairwise_f32, float, double, 1, PYGRAD_WIDE)
    PYGRAD_PAIRWISE(pygrad_pairwise_dd, double, double, 1, )
    """
    double pygrad_pairwise_f32(const float *a, cnp.npy_intp n) noexcept nogil
    double pygrad_pairwise_uniform(const float *a, cnp.npy_intp n) noexcept nogil
    float pygrad_pairwise_ff(const float *a, cnp.npy_intp n) noexcept nogil
    float pygrad_pairwise_ff_uniform(const float *a, cnp.npy_intp n) noexcept nogil
    double pygrad_pairwise_dd(const double *a, cnp.npy_intp n) noexcept nogil
    double pygrad_pairwise_dd_uniform(const double *a, cnp.npy_intp n) noexcept nogil
