# balloon: balloon-like churn (workloads/balloon.c). Tables: balloon-retention.csv (2M retention
# after each round: host mapping and KVM, per backing/unit), balloon-cost.csv (median discard and
# re-fault µs per churned MiB per backing/unit).
name = 'balloon'
load plots.'/common.gp'

set multiplot layout 1,2 title 'Balloon churn: the VMM discards what the guest gave back, the guest re-faults it'

# Panel 1: host 2M retention after each round (solid), KVM's (dashed, when it counts).
set title '2M retention after each round'
set xlabel 'round (0: after the guest wrote the region once)'
set ylabel '% of the region 2M-backed'
set yrange [-5:105]
set key inside center right font ',9'
plot for [i=2:9:2] table('retention') using 1:i lt (i/2) lw 2 pt 7, \
     for [i=3:9:2] table('retention') using 1:i lt ((i-1)/2) dt 2 lw 1.5 pt 6

# Panel 2: discard and re-fault µs per churned MiB, per backing/unit (medians, stacked).
set title 'cost per churned MiB (median): discard + re-fault'
set ylabel 'µs per MiB'
set xlabel ''
set yrange [0:*]
set style data histograms
set style histogram rowstacked
set style fill solid 0.7 border -1
set boxwidth 0.6
set xtics rotate by -25 font ',9'
set key inside top right
plot table('cost') using 2:xtic(1) lt 1, '' using 3 lt 2
unset multiplot
