"""Bahasa Indonesia translations of the catalogue's msgids (English source strings).

``python tools/i18n_id.py`` re-extracts the msgids (pybabel) and rewrites
kiosk/translations/{id,en}/LC_MESSAGES/messages.po; a test fails when a msgid has no
Indonesian translation here, so no user-facing string escapes the catalogue.
"""

from __future__ import annotations

import re

ID: dict[str, str] = {
    "The device is not ready. Please ask staff for help.": "Perangkat belum siap. Silakan minta bantuan petugas.",
    "The card could not be read. Please tap it again.": "Kartu tidak terbaca, silakan tempel ulang.",
    "The card reader is not working. Please type your NIK instead.":
        "Pembaca kartu sedang tidak berfungsi. Silakan ketik NIK Anda.",
    "The document was not printed. Your PIN is still valid.": "Dokumen belum tercetak. PIN Anda tetap berlaku.",
    "The receipt could not be printed. Your documents are not affected.":
        "Struk tidak dapat dicetak. Dokumen Anda tidak terpengaruh.",
    "The PIN is wrong.": "PIN salah.",
    "There are no documents ready to print for this NIK.": "Tidak ada dokumen yang siap dicetak untuk NIK ini.",
    "This PIN has expired. Please ask for a new one.": "PIN ini sudah kedaluwarsa. Silakan minta PIN baru.",
    "This kiosk cannot reach the Dukcapil server. Please ask staff for help.":
        "Anjungan ini tidak dapat terhubung ke server Dukcapil. Silakan minta bantuan petugas.",
    "The Dukcapil server is not available right now. Your PIN is still valid. Please try again later.":
        "Server Dukcapil sedang tidak tersedia. PIN Anda tetap berlaku. Silakan coba lagi nanti.",
    "A NIK has exactly 16 digits.": "NIK terdiri dari tepat 16 angka.",
    "A NIK contains digits only.": "NIK hanya berisi angka.",
    "The region code in this NIK does not exist.": "Kode wilayah pada NIK ini tidak dikenal.",
    "The birth date in this NIK is not valid.": "Tanggal lahir pada NIK ini tidak sah.",
    "The serial number in this NIK is not valid.": "Nomor urut pada NIK ini tidak sah.",
    "KTP Elektronik": "KTP Elektronik",
    "Kartu Identitas Anak": "Kartu Identitas Anak",
    "Kartu Keluarga": "Kartu Keluarga",
    "Akta Kelahiran": "Akta Kelahiran",
    "Akta Kematian": "Akta Kematian",
    "Surat Pindah": "Surat Pindah",
    "Please choose at least one document.": "Silakan pilih paling sedikit satu dokumen.",
    "The document data is incomplete. Your PIN is still valid.": "Data dokumen tidak lengkap. PIN Anda tetap berlaku.",
    "This kiosk cannot print this kind of document.": "Anjungan ini tidak dapat mencetak jenis dokumen ini.",
    "The printer is not ready. Your PIN is still valid.": "Printer belum siap. PIN Anda tetap berlaku.",
    "The printer did not confirm this document. If it does not come out, your PIN is still valid.":
        "Printer belum memastikan dokumen ini tercetak. Jika dokumen tidak keluar, PIN Anda tetap berlaku.",
    "This kiosk has run out of blank cards. Your PIN is still valid.":
        "Blangko kartu di anjungan ini habis. PIN Anda tetap berlaku.",
    "The card printer needs a new ribbon. Your PIN is still valid.":
        "Printer kartu perlu pita (ribbon) baru. PIN Anda tetap berlaku.",
    "The card printer has reached its daily limit and must cool down. Your PIN is still valid; please come back tomorrow.":
        "Printer kartu telah mencapai batas harian dan perlu didinginkan. PIN Anda tetap berlaku; silakan kembali besok.",
    "The document printer is out of paper. Your PIN is still valid.": "Kertas printer dokumen habis. PIN Anda tetap berlaku.",
    "This kiosk is temporarily out of service.": "Anjungan ini sementara tidak dapat digunakan.",
    "Too many wrong PINs. Please wait before trying again.": "Terlalu banyak PIN salah. Silakan tunggu sebelum mencoba lagi.",
    "The PIN has 6 digits.": "PIN terdiri dari 6 angka.",
    "Your session has ended. Please start again.": "Sesi Anda telah berakhir. Silakan mulai lagi.",
    "Please start again.": "Silakan mulai lagi.",
    "ANJUNGAN DUKCAPIL MANDIRI": "ANJUNGAN DUKCAPIL MANDIRI",
    "NIK": "NIK",
    "Reference": "Nomor referensi",
    "Printed:": "Tercetak:",
    "Not printed:": "Belum tercetak:",
    "Your PIN is still valid for the documents not printed.": "PIN Anda tetap berlaku untuk dokumen yang belum tercetak.",
    "Keep this receipt. Show the reference to staff if you need help.":
        "Simpan struk ini. Tunjukkan nomor referensi kepada petugas jika perlu bantuan.",
    "The PIN is wrong. %(n)s tries left.": "PIN salah. Sisa percobaan: %(n)s.",
    "Waiting": "Menunggu",
    "Printing...": "Sedang dicetak...",
    "Done": "Selesai",
    "Not printed": "Belum tercetak",
    "Something went wrong. Please start again.": "Terjadi kesalahan. Silakan mulai lagi.",
    "Anjungan Dukcapil Mandiri": "Anjungan Dukcapil Mandiri",
    "Need help?": "Butuh bantuan?",
    "Are you still there?": "Masih di sana?",
    "Yes, continue": "Ya, lanjutkan",
    "Number keypad": "Papan angka",
    "Clear all": "Hapus semua",
    "Clear": "Hapus",
    "Delete one digit": "Hapus satu angka",
    "Your documents are ready": "Dokumen Anda siap dicetak",
    "All documents are selected. Touch a document to leave it out.":
        "Semua dokumen sudah dipilih. Sentuh dokumen untuk tidak mencetaknya.",
    "%(num)s page": ("%(num)s halaman", "%(num)s halaman"),
    "Cancel": "Batal",
    "Print": "Cetak",
    "Card": "Kartu",
    "A4 paper": "Kertas A4",
    "Some documents were not printed": "Sebagian dokumen belum tercetak",
    "Please ask staff at the Disdukcapil office, or try again at another ADM. Show them your receipt.":
        "Silakan hubungi petugas di kantor Disdukcapil, atau coba lagi di ADM lain. Tunjukkan struk Anda.",
    "Finished. Thank you!": "Selesai. Terima kasih!",
    "Take your documents and your receipt.": "Ambil dokumen dan struk Anda.",
    "Finish": "Selesai",
    "Back to start": "Kembali ke awal",
    "Start by tapping your e-KTP, typing your NIK, or showing the QR code from WhatsApp.":
        "Mulai dengan menempelkan e-KTP, mengetik NIK, atau menunjukkan kode QR dari WhatsApp.",
    "Enter the 6-digit PIN from the WhatsApp message.": "Masukkan PIN 6 angka dari pesan WhatsApp.",
    "Choose your documents and touch Print.": "Pilih dokumen Anda lalu sentuh Cetak.",
    "Show this code to staff:": "Tunjukkan kode ini kepada petugas:",
    "Phone": "Telepon",
    "Back": "Kembali",
    "Too many wrong PINs": "Terlalu banyak PIN salah",
    "For your safety, this NIK is locked for %(m)s minutes. Please try again later, or ask staff for help.":
        "Demi keamanan Anda, NIK ini dikunci selama %(m)s menit. Silakan coba lagi nanti, atau minta bantuan petugas.",
    "Type your NIK": "Ketik NIK",
    "The 16-digit number on your KTP or Kartu Keluarga.": "Nomor 16 angka pada KTP atau Kartu Keluarga Anda.",
    "Next": "Lanjut",
    "Sorry": "Mohon maaf",
    "Your PIN is still valid. Please try again later or ask staff for help.":
        "PIN Anda tetap berlaku. Silakan coba lagi nanti atau minta bantuan petugas.",
    "Enter your PIN": "Masukkan PIN",
    "The 6-digit PIN from the WhatsApp message.": "PIN 6 angka dari pesan WhatsApp.",
    "Never share your PIN with anyone, including staff.": "Jangan berikan PIN Anda kepada siapa pun, termasuk petugas.",
    "Printing your documents": "Dokumen Anda sedang dicetak",
    "Please wait. Do not leave before your receipt is printed.": "Mohon tunggu. Jangan pergi sebelum struk tercetak.",
    "Welcome": "Selamat datang",
    "Print your population documents with the PIN we sent you by WhatsApp.":
        "Cetak dokumen kependudukan Anda dengan PIN yang kami kirim lewat WhatsApp.",
    "How do you want to start?": "Bagaimana Anda ingin memulai?",
    "Tap your e-KTP": "Tempel e-KTP",
    "Place your e-KTP on the reader below the screen.": "Letakkan e-KTP Anda di pembaca kartu di bawah layar.",
    "Show the QR code": "Tunjukkan kode QR",
    "From the WhatsApp message, to the camera.": "Dari pesan WhatsApp, ke arah kamera.",
    # citizen UI (issue 3)
    "The screen was closed because nothing was touched for a while. Please start again.":
        "Layar ditutup karena tidak disentuh beberapa saat. Silakan mulai lagi.",
    "Your e-KTP was taken off the reader, so we stopped for your safety. Please start again.":
        "e-KTP Anda diangkat dari pembaca kartu, jadi kami hentikan demi keamanan Anda. Silakan mulai lagi.",
    "This screen will close in %(seconds)s seconds.": "Layar ini akan ditutup dalam %(seconds)s detik.",
    "Reading your e-KTP. Please keep it on the reader.": "Sedang membaca e-KTP Anda. Jangan angkat kartu dari pembaca.",
    "PIN": "PIN",
    "%(n)s of %(total)s digits": "%(n)s dari %(total)s angka",
    "Too many wrong PINs were entered on this kiosk. Please wait %(m)s minutes, or ask staff for help.":
        "Terlalu banyak PIN salah dimasukkan di anjungan ini. Silakan tunggu %(m)s menit, atau minta bantuan petugas.",
    "You can try again after %(time)s.": "Anda dapat mencoba lagi setelah pukul %(time)s.",
    "Your PIN is still valid. Nothing was printed.": "PIN Anda tetap berlaku. Belum ada dokumen yang dicetak.",
    "Printed": "Tercetak",
    "Take your receipt from the slot below the screen and keep it.":
        "Ambil struk dari celah di bawah layar dan simpan baik-baik.",
    "The receipt could not be printed. Please note the reference below.":
        "Struk tidak dapat dicetak. Silakan catat nomor referensi di bawah ini.",
    "When you touch Finish, your data is deleted from this kiosk.":
        "Setelah Anda menyentuh Selesai, data Anda dihapus dari anjungan ini.",
    "Staff at this location can help you. Show them the code below, but never tell anyone your PIN.":
        "Petugas di lokasi ini dapat membantu Anda. Tunjukkan kode di bawah ini, tetapi jangan beri tahu PIN Anda "
        "kepada siapa pun.",
    "The camera is not available. Please use another way or ask staff for help.":
        "Kamera sedang tidak tersedia. Silakan gunakan cara lain atau minta bantuan petugas.",
    "This code is not from Dukcapil.": "Kode ini bukan dari Dukcapil.",
    "This is a document's code. To identify, show the QR code from your WhatsApp message.":
        "Ini kode QR dokumen. Untuk masuk, tunjukkan kode QR dari pesan WhatsApp Anda.",
    "This is a WhatsApp code. To check a document, show the QR code printed on the document.":
        "Ini kode QR WhatsApp. Untuk memeriksa dokumen, tunjukkan kode QR yang tercetak pada dokumen.",
    "This QR code is not valid any more. Please use the code from your latest WhatsApp message.":
        "Kode QR ini sudah tidak berlaku. Silakan gunakan kode dari pesan WhatsApp terbaru Anda.",
    "The Dukcapil server is not available right now. Please try again later.":
        "Server Dukcapil sedang tidak tersedia. Silakan coba lagi nanti.",
    "Open the WhatsApp message from Dukcapil and hold the QR code in front of the camera.":
        "Buka pesan WhatsApp dari Dukcapil, lalu arahkan kode QR ke kamera.",
    "Open the WhatsApp message with your PIN.": "Buka pesan WhatsApp yang berisi PIN Anda.",
    "Hold your phone about 20 cm from the camera above the screen.":
        "Pegang ponsel Anda sekitar 20 cm dari kamera di atas layar.",
    "Keep it still until the screen changes.": "Tahan ponsel tanpa bergerak sampai layar berganti.",
    "Looking for the QR code...": "Mencari kode QR...",
    "Type the NIK instead": "Ketik NIK saja",
    # -- maintenance mode (issue 7): technician screens, reconciliation report, simulator panel --
    "Blank card reconciliation": "Rekonsiliasi blangko kartu",
    "Kiosk": "Anjungan",
    "Location": "Lokasi",
    "Generated": "Dibuat",
    "Technician": "Teknisi",
    "Balanced: every blank is accounted for.": "Seimbang: setiap blangko tercatat.",
    "NOT BALANCED: see the differences below.": "TIDAK SEIMBANG: lihat selisih di bawah.",
    "Kind": "Jenis",
    "Batch": "Batch",
    "Loaded": "Dimuat",
    "Remaining": "Sisa",
    "In flight": "Sedang diproses",
    "Spoiled": "Rusak",
    "Difference": "Selisih",
    "All": "Semua",
    "Total": "Total",
    "Supervisor": "Atasan",
    "A4 printer: paper out": "Printer A4: kertas habis",
    "Card printer: card jam": "Printer kartu: kartu macet",
    "Card printer: jam on the next card": "Printer kartu: macet pada kartu berikutnya",
    "Card printer: ribbon out": "Printer kartu: pita habis",
    "Receipt printer: paper out": "Printer struk: kertas habis",
    "Receipt printer: paper low": "Printer struk: kertas hampir habis",
    "Receipt printer: cover open": "Printer struk: tutup terbuka",
    "Receipt printer: no answer": "Printer struk: tidak menjawab",
    "Card reader: unplugged": "Pembaca kartu: tercabut",
    "Print server (CUPS) down": "Server cetak (CUPS) mati",
    "Central: down": "Server pusat: mati",
    "Central: slow (3 s)": "Server pusat: lambat (3 dtk)",
    "Central: next 2 requests fail": "Server pusat: 2 permintaan berikutnya gagal",
    "Card printer: test print": "Printer kartu: uji cetak",
    "A4 printer: test page": "Printer A4: halaman uji",
    "Receipt printer: test receipt": "Printer struk: struk uji",
    "Card reader: read an e-KTP": "Pembaca kartu: baca e-KTP",
    "Camera: decode a code": "Kamera: baca kode",
    "Central server: reachability": "Server pusat: keterjangkauan",
    "Card reader": "Pembaca kartu",
    "Camera": "Kamera",
    "Card printer": "Printer kartu",
    "A4 printer": "Printer A4",
    "Receipt printer": "Printer struk",
    "Central server": "Server pusat",
    "A serial number must end in digits.": "Nomor seri harus diakhiri angka.",
    "The first and last serial must have the same prefix and length.":
        "Nomor seri awal dan akhir harus berawalan dan berpanjang sama.",
    "The last serial comes before the first.": "Nomor seri akhir lebih kecil dari nomor seri awal.",
    "The count does not match the serial range.": "Jumlah tidak sesuai dengan rentang nomor seri.",
    "That batch is too large for one load.": "Batch terlalu besar untuk sekali muat.",
    "Refused: some of these serials are already in the journal.": "Ditolak: sebagian nomor seri ini sudah tercatat di jurnal.",
    "Choose the kind of blank card.": "Pilih jenis blangko kartu.",
    "The batch number may hold letters, digits, '.', '/', '_' and '-'.":
        "Nomor batch hanya boleh berisi huruf, angka, '.', '/', '_' dan '-'.",
    "Unknown supply.": "Bahan habis pakai tidak dikenal.",
    "The count must be between 0 and the capacity.": "Jumlah harus antara 0 dan kapasitas.",
    "That serial is not in stock.": "Nomor seri itu tidak ada di stok.",
    "Unknown device.": "Perangkat tidak dikenal.",
    "That job is no longer stuck.": "Pekerjaan cetak itu sudah tidak macet.",
    "The simulator is only available in simulation.": "Simulator hanya tersedia dalam mode simulasi.",
    "Unknown action.": "Tindakan tidak dikenal.",
    "Too many failed logins. Try again in %(m)s minutes.": "Terlalu banyak login gagal. Coba lagi dalam %(m)s menit.",
    "Wrong ID or password.": "ID atau kata sandi salah.",
    "The count must be a number.": "Jumlah harus berupa angka.",
    "%(n)s blank cards loaded.": "%(n)s blangko kartu dimuat.",
    "Supply replaced; its counter is reset.": "Bahan sudah diganti; penghitungnya diatur ulang.",
    "The blank is recorded as spoiled.": "Blangko dicatat sebagai rusak.",
    "Fault cleared: the device is ready.": "Gangguan dihapus: perangkat siap.",
    "The device still reports a fault: %(code)s": "Perangkat masih melaporkan gangguan: %(code)s",
    "Job %(id)s: %(outcome)s": "Pekerjaan %(id)s: %(outcome)s",
    "Job %(id)s cancelled; its blank is recorded as spoiled.": "Pekerjaan %(id)s dibatalkan; blangkonya dicatat rusak.",
    "The kiosk will be out of service when you log out.": "Anjungan akan tidak beroperasi saat Anda keluar.",
    "The kiosk will serve citizens again when you log out.": "Anjungan akan melayani warga lagi saat Anda keluar.",
    "Done: %(action)s": "Selesai: %(action)s",
    "On-screen keyboard": "Papan ketik layar",
    "Shift": "Shift",
    "Delete one character": "Hapus satu karakter",
    "Next field": "Kolom berikutnya",
    "Maintenance": "Pemeliharaan",
    "Log out and leave maintenance": "Keluar dari mode pemeliharaan",
    "Maintenance sections": "Bagian pemeliharaan",
    "Dashboard": "Dasbor",
    "Self-tests": "Uji mandiri",
    "Supplies": "Bahan habis pakai",
    "Reconciliation": "Rekonsiliasi",
    "Faults": "Gangguan",
    "Journal": "Jurnal",
    "Diagnostics": "Diagnostik",
    "Simulator": "Simulator",
    "Citizen service": "Layanan warga",
    "Not available when you leave: a required device is not ready.":
        "Tidak tersedia saat Anda keluar: perangkat wajib belum siap.",
    "Out of service when you leave, with this message:": "Tidak beroperasi saat Anda keluar, dengan pesan ini:",
    "Ready to serve citizens when you leave.": "Siap melayani warga saat Anda keluar.",
    "Mode now": "Mode sekarang",
    "Citizen sessions open": "Sesi warga terbuka",
    "A citizen's documents are printing.": "Dokumen warga sedang dicetak.",
    "Stuck print jobs": "Pekerjaan cetak macet",
    "Devices": "Perangkat",
    "Device": "Perangkat",
    "State": "Status",
    "Last error": "Galat terakhir",
    "optional": "opsional",
    "low": "hampir habis",
    "Blanks": "Blangko",
    "Cards today": "Kartu hari ini",
    "Last successful contact": "Kontak berhasil terakhir",
    "seconds ago": "detik yang lalu",
    "never since start": "belum pernah sejak mulai",
    "Reports waiting to be sent": "Laporan menunggu dikirim",
    "oldest": "terlama",
    "System": "Sistem",
    "Software version": "Versi perangkat lunak",
    "Uptime": "Waktu aktif",
    "Free disk space": "Ruang disk kosong",
    "The bundle holds the configuration without secrets, the device statuses, the reconciliation, recent print jobs "
    "(NIK masked), audit and device events, and the recent log lines.":
        "Paket ini berisi konfigurasi tanpa rahasia, status perangkat, rekonsiliasi, pekerjaan cetak terbaru "
        "(NIK disamarkan), peristiwa audit dan perangkat, serta baris log terbaru.",
    "Download diagnostics bundle": "Unduh paket diagnostik",
    "Devices reporting a fault": "Perangkat yang melaporkan gangguan",
    "No device reports a fault.": "Tidak ada perangkat yang melaporkan gangguan.",
    "Fixed: clear fault": "Sudah diperbaiki: hapus gangguan",
    "Clear a fault after fixing it (clear the jam, close the cover, plug the device in). The kiosk then asks the device "
    "again.":
        "Hapus gangguan setelah memperbaikinya (keluarkan kartu macet, tutup penutup, colokkan perangkat). "
        "Anjungan lalu memeriksa perangkat lagi.",
    "No stuck print jobs.": "Tidak ada pekerjaan cetak yang macet.",
    "Ask the printer again": "Tanyakan lagi ke printer",
    "Cancel job": "Batalkan pekerjaan",
    "Out of service": "Tidak beroperasi",
    "The kiosk will be out of service when you log out, with this message:":
        "Anjungan akan tidak beroperasi saat Anda keluar, dengan pesan ini:",
    "Put back in service": "Operasikan kembali",
    "Message for citizens": "Pesan untuk warga",
    "This kiosk is under repair. Please come back later.": "Anjungan ini sedang diperbaiki. Silakan kembali nanti.",
    "Blank cards have run out. Please come back tomorrow.": "Blangko kartu habis. Silakan kembali besok.",
    "Take out of service": "Hentikan operasi",
    "Technician login required": "Perlu login teknisi",
    "This page is for technicians. Please log in first.": "Halaman ini untuk teknisi. Silakan login terlebih dahulu.",
    "Technician login": "Login teknisi",
    "Back to the kiosk": "Kembali ke anjungan",
    "Export": "Ekspor",
    "Recent print jobs": "Pekerjaan cetak terbaru",
    "When": "Waktu",
    "Document": "Dokumen",
    "Blank": "Blangko",
    "Error": "Galat",
    "Audit events": "Peristiwa audit",
    "Who": "Oleh",
    "Event": "Peristiwa",
    "Detail": "Rincian",
    "Device events": "Peristiwa perangkat",
    "Technician ID": "ID teknisi",
    "Password": "Kata sandi",
    "Log in": "Masuk",
    "Printable report (PDF)": "Laporan siap cetak (PDF)",
    "Print jobs that printed on a blank": "Pekerjaan cetak yang tercetak pada blangko",
    "Spoiled blanks": "Blangko rusak",
    "Serial": "Nomor seri",
    "Reason": "Alasan",
    "A card test print uses one blank card; it is recorded as spoiled (self-test).":
        "Uji cetak kartu memakai satu blangko; blangko itu dicatat rusak (uji mandiri).",
    "Camera preview": "Pratinjau kamera",
    "Run": "Jalankan",
    "Passed": "Lulus",
    "Failed": "Gagal",
    "Only in simulation: what a person's hands would do to the hardware.":
        "Hanya dalam simulasi: apa yang dilakukan tangan seseorang pada perangkat keras.",
    "e-KTP on the reader": "e-KTP di pembaca kartu",
    "On the reader now": "Di pembaca sekarang",
    "Insert": "Tempelkan",
    "Pull the card": "Ambil kartu",
    "Show": "Tunjukkan",
    "Take the code away": "Jauhkan kode",
    "Inject a fault": "Timbulkan gangguan",
    "Clear every simulated fault": "Hapus semua gangguan simulasi",
    "Blank cards in stock": "Stok blangko kartu",
    "Load a batch of blank cards": "Muat satu batch blangko kartu",
    "Batch number": "Nomor batch",
    "First serial": "Nomor seri awal",
    "Last serial": "Nomor seri akhir",
    "Number of cards (counted by hand)": "Jumlah kartu (dihitung manual)",
    "Load batch": "Muat batch",
    "Remove a damaged blank": "Keluarkan blangko rusak",
    "Record as spoiled": "Catat sebagai rusak",
    "Ribbon, film, toner and paper": "Pita, film, toner dan kertas",
    "Supply": "Bahan",
    "Replaced: reset counter": "Sudah diganti: atur ulang penghitung",
    # "Cek keaslian dokumen" (the authenticity check)
    "This document is authentic and valid.": "Dokumen ini asli dan berlaku.",
    "This document is authentic, but it has been replaced by a newer one.":
        "Dokumen ini asli, tetapi sudah diganti dengan dokumen yang lebih baru.",
    "This document is not in the Dukcapil database.": "Dokumen ini tidak terdaftar di database Dukcapil.",
    "Check a document": "Cek keaslian dokumen",
    "Check a document's authenticity": "Cek keaslian dokumen",
    "Hold the QR code at the bottom right of your Kartu Keluarga or akta in front of the camera.":
        "Arahkan kode QR di kanan bawah Kartu Keluarga atau akta Anda ke kamera.",
    "Number": "Nomor",
    "Issued": "Tanggal terbit",
    "Signed by": "Ditandatangani oleh",
    "Check another document": "Cek dokumen lain",
    # Two requests at once, a session that ends mid-print
    "Your documents are being printed. Please wait until they are finished.":
        "Dokumen Anda sedang dicetak. Silakan tunggu sampai selesai.",
    "Printing was stopped because the session ended. Your PIN is still valid.":
        "Pencetakan dihentikan karena sesi telah berakhir. PIN Anda tetap berlaku.",
    # -- ops
    "Daily blank report": "Laporan harian blangko",
    "Date (YYYY-MM-DD)": "Tanggal (TTTT-BB-HH)",
    "today so far": "hari ini sampai sekarang",
    "Opening stock": "Stok awal",
    "Sent to central after midnight.": "Dikirim ke pusat setelah tengah malam.",
    "Central has this report.": "Laporan ini sudah diterima pusat.",
    "Not queued for central yet.": "Belum diantrekan untuk pusat.",
    "Waiting to be delivered to central.": "Menunggu terkirim ke pusat.",
    "Print on the receipt printer": "Cetak di printer struk",
    "The report was not printed": "Laporan tidak tercetak",
    "The report was printed on the receipt printer.": "Laporan telah dicetak di printer struk.",
    "The date is written as YYYY-MM-DD.": "Tanggal ditulis sebagai TTTT-BB-HH.",
    # -- help
    "Call staff": "Panggil petugas",
    "Help is coming.": "Petugas sedang menuju ke sini.",
    "A staff member has been called and will come to this kiosk. Please wait here.":
        "Petugas sudah dipanggil dan akan datang ke anjungan ini. Mohon tunggu di sini.",
    "Cancel the call": "Batalkan panggilan",
    "Staff: sign in to help": "Petugas: masuk untuk membantu",
    "Helped by staff: %(operator)s": "Dibantu petugas: %(operator)s",
    "Finish helping": "Selesai membantu",
    "Continue helping": "Lanjut membantu",
    "Staff, please look away": "Petugas, mohon berpaling",
    "Only the citizen types the PIN. The staff member's controls are off until the PIN has been entered.":
        "Hanya warga yang mengetik PIN. Kendali petugas nonaktif sampai PIN selesai dimasukkan.",
    "Staff, please look away. Only the citizen types the PIN.":
        "Petugas, mohon berpaling. Hanya warga yang mengetik PIN.",
    "Only the staff member who signed in to help can do this.":
        "Hanya petugas yang masuk untuk membantu yang dapat melakukan ini.",
    "Staff could not be called from this kiosk. Please ask at the counter.":
        "Petugas tidak dapat dipanggil dari anjungan ini. Silakan bertanya di loket.",
    "Another staff member is already helping at this kiosk.": "Petugas lain sedang membantu di anjungan ini.",
    "Staff sign-in to help a citizen": "Masuk petugas untuk membantu warga",
    "The kiosk stays in service. On the PIN screen you will be asked to look away: only the citizen types the PIN.":
        "Anjungan tetap melayani warga. Di layar PIN Anda akan diminta berpaling: hanya warga yang mengetik PIN.",
    "Staff ID": "ID petugas",
    "Sign in": "Masuk",
    # -- tte
    "This document's electronic signature (TTE) could not be verified, so it was not printed. "
    "Your PIN is still valid. Please ask at the Dukcapil office counter.":
        "Tanda tangan elektronik (TTE) dokumen ini tidak dapat diverifikasi, jadi dokumen tidak dicetak. "
        "PIN Anda tetap berlaku. Silakan tanyakan ke loket kantor Disdukcapil.",
    "Office": "Instansi",
    "Signed electronically by": "Ditandatangani secara elektronik oleh",
    "Signed on": "Waktu penandatanganan",
    "Check your data": "Periksa data Anda",
    "This is your card as it will be printed. Please check every detail before a blank card is used.":
        "Beginilah kartu Anda akan dicetak. Periksa setiap data sebelum blangko kartu digunakan.",
    "%(title)s as it will be printed": "%(title)s seperti yang akan dicetak",
    "If anything is wrong, nothing is printed and your PIN stays valid.":
        "Jika ada yang salah, tidak ada yang dicetak dan PIN Anda tetap berlaku.",
    "Data wrong, do not print": "Data salah, jangan cetak",
    "Data correct, print": "Data benar, cetak",
    "Nothing was printed": "Tidak ada yang dicetak",
    "Your PIN is still valid. The Dukcapil office has been told that your data needs correcting.":
        "PIN Anda tetap berlaku. Kantor Disdukcapil sudah diberi tahu bahwa data Anda perlu diperbaiki.",
    "Please go to the service counter of the Disdukcapil office with your KK to have your data corrected. "
    "Then you can print here with the same PIN.":
        "Silakan datang ke loket pelayanan kantor Disdukcapil dengan membawa KK untuk memperbaiki data Anda. "
        "Setelah itu Anda dapat mencetak di sini dengan PIN yang sama.",
    # -- fleet
    "Surat Keterangan (pengganti KTP-el)": "Surat Keterangan (pengganti KTP-el)",
    "This kiosk is closed now. Please come back during the opening hours.":
        "ADM ini sedang tutup. Silakan datang kembali pada jam buka.",
    "This kiosk is closed now": "ADM ini sedang tutup",
    "It opens again on %(day)s at %(time)s.": "Buka kembali hari %(day)s pukul %(time)s.",
    "Opening hours": "Jam buka",
    "Closed": "Tutup",
    "Open kiosks nearby": "ADM terdekat yang buka",
    "%(name)s (%(km)s km from here)": "%(name)s (%(km)s km dari sini)",
    "Your %(doc)s cannot be printed here right now": "%(doc)s Anda belum dapat dicetak di ADM ini sekarang",
    "Meanwhile, you can:": "Sementara itu, Anda dapat:",
    "Print a certificate instead": "Mencetak surat keterangan sebagai gantinya",
    "A signed certificate (surat keterangan) on A4 paper stands in for your KTP-el until a blank card is available.":
        "Surat keterangan bertanda tangan elektronik di kertas A4 berlaku sebagai pengganti KTP-el Anda sampai "
        "blangko tersedia.",
    "Print the certificate": "Cetak surat keterangan",
    "The Dukcapil server cannot be reached, so no certificate can be offered now.":
        "Server Dukcapil tidak dapat dihubungi, sehingga surat keterangan belum dapat diberikan sekarang.",
    "Kiosks that can print your %(doc)s now": "ADM yang dapat mencetak %(doc)s Anda sekarang",
    "Or get a queue number for the office counter": "Atau ambil nomor antrean untuk loket kantor Disdukcapil",
    "Your queue number: %(n)s": "Nomor antrean Anda: %(n)s",
    "Number from the Dukcapil server": "Nomor dari server Dukcapil",
    "Local number: the Dukcapil server could not be reached":
        "Nomor lokal: server Dukcapil tidak dapat dihubungi",
    "Take the ticket from the receipt slot.": "Ambil tiket dari celah struk.",
    "The ticket could not be printed: please note the number.": "Tiket tidak dapat dicetak: silakan catat nomornya.",
    "Print a queue ticket": "Cetak nomor antrean",
    "Back to my documents": "Kembali ke dokumen saya",
    "Queue number for the office counter": "Nomor antrean loket Disdukcapil",
    "Show this ticket at the Disdukcapil counter. Your PIN is still valid.":
        "Tunjukkan tiket ini di loket Disdukcapil. PIN Anda tetap berlaku.",
    "There is nothing to print instead. Your PIN is still valid.":
        "Tidak ada dokumen pengganti untuk dicetak. PIN Anda tetap berlaku.",
    # -- chip
    "This card could not be verified as a genuine KTP-el. Please type your NIK, or ask the staff.":
        "Kartu ini tidak dapat dipastikan sebagai KTP-el asli. Silakan ketik NIK Anda, atau hubungi petugas.",
    "The chip of your KTP-el could not be written, so the card was not printed. Your PIN is still valid.":
        "Chip KTP-el Anda tidak dapat ditulis, sehingga kartu tidak dicetak. PIN Anda tetap berlaku.",
    "The card printer is still busy with an earlier card. Your PIN is still valid; please try again in a few minutes.":
        "Printer kartu masih memproses kartu sebelumnya. PIN Anda tetap berlaku; silakan coba lagi beberapa menit lagi.",
    "The card printer cannot write the KTP-el chip right now. Your PIN is still valid.":
        "Printer kartu tidak dapat menulis chip KTP-el saat ini. PIN Anda tetap berlaku.",
    "The blank card in the printer is not one this kiosk was loaded with. It was set aside; your PIN is still "
    "valid. Please ask the staff.":
        "Blangko di printer bukan blangko yang dimuat di anjungan ini. Blangko itu disisihkan; PIN Anda tetap "
        "berlaku. Silakan hubungi petugas.",

    "Card printer: chip encoder unplugged": "Printer kartu: encoder chip tercabut",
    "Card printer: the next blank's chip is dead": "Printer kartu: chip blangko berikutnya mati",
    "Card printer: the next chip fails halfway through writing": "Printer kartu: chip berikutnya gagal di tengah penulisan",
    "Card printer: the next chip reads back differently": "Printer kartu: chip berikutnya terbaca berbeda",
    "Tap the card just printed": "Tempel kartu yang baru dicetak",

    # -- a11y
    "Large text": "Teks besar",
    "High contrast": "Kontras tinggi",
    "Three steps": "Tiga langkah",
    "Identify: e-KTP, NIK or QR code": "Kenali diri: e-KTP, NIK, atau kode QR",
    "Enter the PIN from WhatsApp": "Masukkan PIN dari WhatsApp",
    "Take your printed documents": "Ambil dokumen yang tercetak",
    "selected": "dipilih",
    "not selected": "tidak dipilih",
    "not available yet": "belum bisa dipilih",
    "Speech is on. Press the speech key again to turn it off.":
        "Suara aktif. Tekan tombol suara sekali lagi untuk mematikannya.",
    "Speech is off.": "Suara dimatikan.",
    "on": "aktif",
    "off": "tidak aktif",
    "Headset": "Headset",
    "Plugged in": "Terpasang",
    "Not plugged in": "Tidak terpasang",
    "Plug the headset in": "Pasang headset",
    "Unplug the headset": "Cabut headset",
    # -- link
    "Downloading your documents (%(n)s of %(total)s)": "Mengunduh dokumen (%(n)s dari %(total)s)",
    "Your documents are on their way": "Dokumen Anda sedang diunduh",
    "Please wait. On a slow connection this can take a little while.":
        "Mohon tunggu. Pada koneksi yang lambat, ini bisa memakan waktu sebentar.",
    "Link to central: village (1 Mbit/s, 300 ms, stalls)": "Jaringan ke pusat: desa (1 Mbit/s, 300 ms, tersendat)",
    "Link to central: drops mid-download": "Jaringan ke pusat: putus saat mengunduh",
    # -- stream
    "Ready": "Siap",
    "Downloading...": "Sedang diunduh...",
}


def _without_date(po: bytes) -> bytes:
    return re.sub(rb'"POT-Creation-Date: [^"]*"', b"", po)


def main() -> int:
    import io
    import subprocess
    import sys
    from pathlib import Path

    from babel.messages.pofile import read_po, write_po

    root = Path(__file__).resolve().parent.parent
    pot = root / "var" / "messages.pot"
    pot.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(root / "babel.cfg"),
                    "-k", "N_", "-k", "_", "-k", "gettext", "-k", "ngettext:1,2", "--no-location",
                    "-o", str(pot), str(root)], check=True, capture_output=True)
    with pot.open("rb") as fh:
        template = read_po(fh)
    missing = []
    for lang in ("id", "en"):
        template.locale = lang  # type: ignore[assignment]
        for msg in template:
            if not msg.id:
                continue
            key = msg.id[0] if isinstance(msg.id, tuple) else msg.id
            if lang == "id":
                if key not in ID:
                    missing.append(key)
                    continue
                msg.string = ID[key]
            else:
                msg.string = ("", "") if isinstance(msg.id, tuple) else ""
        out = root / "kiosk" / "translations" / lang / "LC_MESSAGES" / "messages.po"
        out.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        write_po(buf, template, omit_header=False, sort_output=True, width=120)
        if not out.exists() or _without_date(out.read_bytes()) != _without_date(buf.getvalue()):
            out.write_bytes(buf.getvalue())  # rewritten only when a message changed, not for a new timestamp
    for m in missing:
        print(f"untranslated: {m!r}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
