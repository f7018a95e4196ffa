"""The shipped policies: ``beijing`` (government points, grades AAA to D) and ``sesame`` (350–950); docs/policies/."""
