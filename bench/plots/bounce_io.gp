# bounce_io: a guest's I/O through a shared bounce pool vs in place (workloads/bounce_io.c).
# Table bounce_io-throughput.csv: per I/O size, bounced and direct GB/s (write, read) and the
# bounced/direct time ratio.
name = 'bounce_io'
load plots.'/common.gp'

set multiplot layout 1,2 title 'Guest I/O through a shared bounce pool (guest copies private <-> shared) vs in place'
set logscale x 2
set xlabel 'I/O size (bytes)'
set key inside top left font ',9'
set logscale y 10
set title 'payload throughput (median)'
set ylabel 'GB/s'
plot table('throughput') using 1:2 lt 1 lw 2 pt 7, '' using 1:3 lt 1 dt 2 lw 2 pt 6, \
     '' using 1:4 lt 2 lw 2 pt 7, '' using 1:5 lt 2 dt 2 lw 2 pt 6
set title 'bounce cost: bounced time / direct time'
set ylabel 'x (log)'
plot table('throughput') using 1:6 lt 1 lw 2 pt 7, '' using 1:7 lt 2 lw 2 pt 7
unset multiplot
