"""Independent models of the workload operators the definitions describe (``kuberay_states``)."""
