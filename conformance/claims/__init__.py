"""Claims: what a definition asserts about objects, turned into verdicts."""
