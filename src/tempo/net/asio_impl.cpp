// Asio and Beast are compiled once, here (BOOST_ASIO_SEPARATE_COMPILATION and
// BOOST_BEAST_SEPARATE_COMPILATION are set by the tempo_boost_asio target).
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
