class SpectralKernel: pass
