//! haproxy.cfg reader (placeholder until the haproxy side lands).
