// Fault injection for the isolation tests, built only for the tests and loaded with LD_PRELOAD into the real
// CLI: it takes the place of zxing-cpp's ReadBarcodes (so the faults happen inside a third-party library's
// entry point, in the barcode stage, without the project's code knowing) and, on images marked for it, crashes
// or hangs the way broken library code does. Every other image goes on to the real ReadBarcodes.
//
// The mark: the first four grey pixels of the image's top row are 13, 37, 201, then the fault:
//   1 SIGSEGV (a write through a null pointer)   2 SIGABRT (abort())
//   3 SIGFPE (an integer division by zero)       4 a hang (sleeps forever)
//   5 a C++ exception (std::runtime_error)
//
// It also takes the place of hunspell's Hunspell(aff, dic, key) constructor, which the language stage's load
// runs while a worker's first images go through the other stages: a dictionary whose .aff path holds
// "cluetrace-fault-load-" and then the fault's number (as above) faults there; others load as they would.
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <hunspell/hunspell.hxx>

#include <ZXing/DecodeHints.h>
#include <ZXing/ImageView.h>
#include <ZXing/Result.h>

namespace {

int fault_of(const ZXing::ImageView& view) {
  if (view.width() < 4 || view.height() < 1 || view.format() != ZXing::ImageFormat::Lum) return 0;
  const unsigned char* row = view.data(0, 0);
  const int stride = view.pixStride();
  if (row[0] != 13 || row[stride] != 37 || row[2 * stride] != 201) return 0;
  return row[3 * stride];
}

// Not instrumented in the sanitizer build: UBSan would catch the null write and the division itself and abort,
// and the test wants the signals a broken library really raises.
[[gnu::noinline]] __attribute__((no_sanitize("undefined"))) void fault(int kind) {
  switch (kind) {
    case 1: *static_cast<volatile int*>(nullptr) = 1; break;
    case 2: std::abort();
    case 3: {
      // Both operands volatile: GCC turns 1 / x into compares, with no division left to trap.
      volatile int zero = 0, seven = 7;
      volatile int result = seven / zero;
      (void)result;
      break;
    }
    case 4:
      for (;;) ::sleep(1);
    case 5: throw std::runtime_error("injected fault");
    default: break;
  }
}

}  // namespace

namespace ZXing {

Results ReadBarcodes(const ImageView& view, const DecodeHints& hints) {
  using Real = Results (*)(const ImageView&, const DecodeHints&);
  static const auto real = reinterpret_cast<Real>(::dlsym(RTLD_NEXT, "_ZN5ZXing12ReadBarcodesERKNS_9ImageViewERKNS_11DecodeHintsE"));
  if (const int kind = fault_of(view)) fault(kind);
  return real(view, hints);
}

}  // namespace ZXing

// The real constructor is called on the same object: the definition here only stands in front of it.
Hunspell::Hunspell(const char* affpath, const char* dpath, const char* key) {
  using Real = void (*)(Hunspell*, const char*, const char*, const char*);
  static const auto real = reinterpret_cast<Real>(::dlsym(RTLD_NEXT, "_ZN8HunspellC1EPKcS1_S1_"));
  constexpr const char* kMark = "cluetrace-fault-load-";
  if (const char* at = std::strstr(affpath, kMark)) fault(at[std::strlen(kMark)] - '0');
  real(this, affpath, dpath, key);
}
