//! placeholder: the private libvirtd (being written)
