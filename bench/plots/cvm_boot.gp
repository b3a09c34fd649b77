# cvm_boot: a confidential guest kernel's boot-time accepts and conversions (workloads/cvm_boot.c).
# Tables (the last measured boot): cvm_boot-phases.csv (ms per phase), cvm_boot-convert.csv (each
# conversion to shared in order: bytes, µs for KVM_SET_MEMORY_ATTRIBUTES + discard).
name = 'cvm_boot'
load plots.'/common.gp'

set multiplot layout 1,2 title 'Confidential guest boot: accept in 2M units, convert swiotlb / per-CPU / DMA buffers to shared'
set title 'time per boot phase (last boot)'
set ylabel 'ms'
set style data histograms
set style fill solid 0.7 border -1
set boxwidth 0.7
set xtics rotate by -30 font ',9'
set yrange [0:*]
set key off
plot table('phases') using 2:xtic(1) lt 1
set title 'each conversion to shared, in boot order (last boot)'
set style data linespoints
set xtics norotate font ',11'
set xlabel 'conversion # (0: the swiotlb pool)'
set ylabel 'µs (log)'
set logscale y 10
set key inside top right
plot table('convert') using 1:3 with points pt 7 ps 0.8 title 'µs'
unset multiplot
