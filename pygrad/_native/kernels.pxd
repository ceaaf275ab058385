# NumPy's floating-point warnings off around a call, in C (kernels.pyx): what the compiled modules
# call around NumPy where PyTorch gives no warning.
cdef object quiet_enter()
cdef int quiet_exit(object token) except -1
