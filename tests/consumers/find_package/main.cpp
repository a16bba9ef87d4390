// A downstream program that sees musehub only through its public API (find_package consumer).
#include <musehub/musehub.hpp>

#include <iostream>
#include <string_view>

int main() {
    constexpr std::string_view expected =
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; // FIPS 180-2 "abc"
    const auto hex = musehub::sha256(musehub::as_bytes(std::string_view("abc"))).hex();
    if (hex != expected) {
        std::cerr << "find_package consumer: sha256(\"abc\") = " << hex << ", expected " << expected
                  << '\n';
        return 1;
    }
    std::cout << "find_package consumer: sha256(\"abc\") = " << hex << " ok\n";
    return 0;
}
