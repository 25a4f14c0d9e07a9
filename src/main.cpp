#include "tempo/cli/main.hpp"

int main(int argc, char** argv) { return tempo::cli::Main(argc, argv); }
