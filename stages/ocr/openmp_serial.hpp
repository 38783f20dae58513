// Tesseract's LSTM runs its gates in OpenMP regions (Debian's libtesseract uses libgomp). A worker thread already
// reads lines of its own: regions of their own would put several threads per worker on the cores.
//
// hold_openmp_to_this_thread() makes the regions the calling thread starts run on it alone (OpenMP's
// max-active-levels, which libgomp keeps per thread, set to 0); once per thread, a no-op when Tesseract has no
// OpenMP runtime. TesseractEngines::local() calls it when it gives a thread its first instance.
//
// libgomp would still build a team of one thread for each such region and take it down again, ending with a futex
// wake-up: a system call. Tesseract's LSTM opens a `parallel sections` region per time step (23,800 for one
// GroceryStore photo). So openmp_serial.cpp also stands in front of libgomp's entry points for the regions
// libtesseract opens (GOMP_parallel, GOMP_parallel_sections and the sections' GOMP_sections_next and
// GOMP_sections_end_nowait; the executable's definitions are the ones libtesseract's calls bind to). A region that
// libgomp would run on one thread runs its body on the calling thread directly, with its sections handed out in
// order, which is what that team of one did. Any other region goes to libgomp as before.
#pragma once

namespace cluetrace::ocr {

void hold_openmp_to_this_thread();

}  // namespace cluetrace::ocr
