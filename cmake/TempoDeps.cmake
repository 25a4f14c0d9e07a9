# Every dependency is a Debian package (see tools/install-deps.sh).
find_package(Threads REQUIRED)
find_package(Boost 1.81.0 EXACT CONFIG REQUIRED COMPONENTS url)
find_package(OpenSSL 3 REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(PkgConfig REQUIRED)
if(TEMPO_TESTS)
  find_package(GTest REQUIRED)
endif()
if(TEMPO_BENCH AND NOT TEMPO_FUZZ)
  find_package(benchmark REQUIRED)
endif()

# Asio and Beast are compiled once (tempo/net/asio_impl.cpp) instead of in every TU.
add_library(tempo_boost_asio INTERFACE)
target_link_libraries(tempo_boost_asio INTERFACE Boost::headers Threads::Threads OpenSSL::SSL)
target_compile_definitions(tempo_boost_asio INTERFACE
  BOOST_ASIO_NO_DEPRECATED BOOST_ASIO_SEPARATE_COMPILATION BOOST_BEAST_SEPARATE_COMPILATION
  BOOST_ASIO_DISABLE_CONCEPTS)
