//! End-to-end tests of the User controller on the real control plane.
