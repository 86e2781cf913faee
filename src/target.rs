//! Target specifications (nmap-like) parsed once at the edge into typed values.
//! OWNER: targets helper. See the interface contract in the task description.
